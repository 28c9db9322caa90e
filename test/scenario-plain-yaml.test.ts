/**
 * The plain YAML reader (sim/scenario/plain-yaml.ts) answers only where the yaml library
 * would give the same values, and the scenario it gives is the one the library's gives.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parse, parseDocument } from 'yaml';
import { readPlainYaml } from '../sim/scenario/plain-yaml';
import { parseScenario } from '../sim/scenario/load';
import { swarmScenarioYaml } from './bench/swarm-scenario';
import { REPO } from './helpers/env';

/** What the library reads (undefined where it reports an error), as the scenario loader asks it. */
function library(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  return doc.errors.length ? undefined : doc.toJS();
}

/** Ends the file with a comment holding a tab: the plain reader leaves such a file to the library, and no line moves. */
const inFull = (text: string) => `${text}${text.endsWith('\n') ? '' : '\n'}#\tread by the library\n`;

const snippets: string[] = [
  'a: b\n',
  'a: b # a comment\nc: d#not a comment\n',
  'a: echo it\'s\nb: x "y" z\n',
  "a: 'quoted: with colon'\nb: 'it''s'\nc: 'x' # c\n",
  'a: 1\nb: 007\nc: 1.50\nd: 1.\ne: 1e3\nf: 0x1F\ng: 0o17\nh: 12abc\ni: 198.51.100.11\n',
  'a: true\nb: False\nc: null\nd: ~\ne: yes\nf: NO\ng:\n',
  'a: -c\nb: +1\nc: .5\nd: .inf\n',
  'a: b: c\n',
  'a: b:\n',
  'a: x:y\n',
  'a: {}\nb: { c: 1, d: two words, e: \'q, r\' }\nc: {c: 1}\nd: {c:1}\ne: { c: 1, }\nf: { c: 1 } # after\ng: { c: 1 } x\nh: { c: 1 # in }\n',
  'a: [1, 2]\n',
  'a: "double"\n',
  'a: "quoted: with colon # and hash"\nb: "" # empty\n',
  'a: "x"#not a comment\n',
  'a: "x" "y"\n',
  'a: "tab\\there\\nline \\"q\\" back\\\\slash\\\\"\nb: "\\/\\0\\a\\b\\v\\f\\r\\e\\ \\N\\_\\L\\P"\n',
  'a: "\\x41\\u00e9\\U0001F600"\n',
  'a: "\\x4"\n',
  'a: "\\q"\n',
  'a: "\\ud800"\n',
  'a: "\\U00110000"\n',
  'a: "unclosed\n',
  'a: "two\n  lines"\n',
  'a: "ends in a backslash\\\n  b"\n',
  'a: { b: "x, y}", c: "{z}" , d: \'e\' }\n',
  'a: { c: "d" x }\n',
  'a: { "d": 1 }\n',
  'a:\n  - "item"\n  - "\\"quoted\\""\n',
  'a: >\n  folded\n',
  'a: >-\n  folded: one\n  paragraph # of text\nb: c\n',
  'a: >-\n    deeper\n    still\n\n\nb: c\n',
  'a: >-\n  one\n\n  two\n',
  'a: >-\n  one\n    deeper\n  two\n',
  'a: >-\n    one\n  less\n',
  'a: >-\n  trailing \n  space\n',
  'a: >-\n  one\n  # text, not a comment\n  two\n',
  'a: >-\n  one\n  # text, not a comment\nb: c\n',
  'a: >-\n  one\n# a comment\nb: c\n',
  'a: >-\n\n  after a blank line\n',
  'a: >-\nb: c\n',
  'a: >- # a comment\n  x\n',
  'a: |-\n  literal\n  lines\n',
  'a:\n  - b: >-\n      in an item\n      on lines\n    c: d\n  - e\n',
  'a: first\n  continued\n',
  'a: &x 1\nb: *x\n',
  'a: !tag 1\n',
  'a: 1\na: 2\n',
  'constructor: 1\n',
  '__proto__: 1\n',
  'true: 1\n',
  '"a": 1\n',
  'a:\n  - x\n  - y: 1\n    z: 2\n  -   w: 3\n      v: 4\n',
  'a:\n- x\n- y: 1\n  z: 2\nb: c\n',
  'a:\n  - x\n   - y\n',
  'a:\n  b: 1\n   c: 2\n',
  'a:\n    b: 1\n  c: 2\n',
  'a:\n  -\n    b: 1\n',
  '- a\n- b\n',
  ' a: 1\n',
  '---\na: 1\n',
  '%YAML 1.2\n---\na: 1\n',
  'a: 1\n...\n',
  'a:\tb\n',
  'a: b\r\n',
  'a: >-\n  \u00a0foo\n   bar\n',
  'a: >-\n  \tfoo\n  bar\n',
  'a: >-\n  foo\t\n  bar\n',
  'a:\n\t- b\n',
  'a:\u00a0b\n',
  'a: b\u2003\n',
  '\u00a0a: 1\n',
  'a: { b:\u00a01 }\n',
  'a: \u00a0\n',
  '# only a comment\n',
  'a: {{.Id}} x\nb: docker inspect -f {{.Name}} c0\n',
  'a: x, y\nb: x [y] {z}\n',
  'a: a&b *c !d\n',
  'a: \'unclosed\n',
  "a: 'two' 'parts'\n",
  'a: 99999999999999999999\n',
  'steps:\n  - r0: docker run -dit --name c1 --network net busybox\n    expect: { exit: 0, path: overlay }\n    timeout: 5\n  # between\n  - c1: ping -c 1 c2\n',
];

test.each(snippets.map((s) => [JSON.stringify(s), s]))('where it answers, the plain reader reads %s as the yaml library does', (_name, text) => {
  const plain = readPlainYaml(text);
  if (plain) expect(plain.value).toEqual(library(text));
});

test('the plain reader leaves white space other than spaces and line breaks to the library', () => {
  for (const text of ['a: >-\n  \u00a0foo\n   bar\n', 'a: >-\n  \tfoo\n  bar\n', 'a:\u00a0b\n', '\ufeffa: b\n', 'a: b\u000b\n']) {
    expect(readPlainYaml(text)).toBeUndefined();
  }
  expect(library('a: >-\n  \u00a0foo\n   bar\n')).toEqual({ a: '\u00a0foo\n bar' });
});

test('the plain reader answers for the plain files', () => {
  const seedLab = fs.readFileSync(path.join(REPO, 'scenarios', 'overlay-standalone.yaml'), 'utf8');
  const folded = snippets.filter((t) => t.startsWith('a: >-\n  folded: one') || t.includes('in an item'));
  const doubleQuoted = snippets.filter((t) => t.startsWith('a: "quoted: with colon') || t.startsWith('a: "tab') || t.startsWith('a: "\\x41') || t.startsWith('a: { b: "x, y}"') || t.startsWith('a:\n  - "item"'));
  for (const text of [snippets[0], snippets[4].split('\n').filter((l) => /^[abci]:/.test(l)).join('\n'), snippets[snippets.length - 1], swarmScenarioYaml({ hosts: 3, overlays: 2, containers: 6 }), seedLab, ...folded, ...doubleQuoted]) {
    expect(readPlainYaml(text)).toBeDefined();
  }
});

test('every lab of the repository is read by the plain reader as the yaml library reads it, and loads the same, lines and all', () => {
  const files = fs.readdirSync(path.join(REPO, 'scenarios')).filter((f) => f.endsWith('.yaml'));
  const texts = files.map((f) => [f, fs.readFileSync(path.join(REPO, 'scenarios', f), 'utf8')]);
  texts.push(['swarm.yaml', swarmScenarioYaml({ hosts: 20, overlays: 3, containers: 60 })]);
  expect(files.length).toBeGreaterThan(0);
  for (const [file, text] of texts) {
    // Each lab by name: one the plain reader leaves to the library says which.
    expect({ file, plain: readPlainYaml(text)?.value }).toEqual({ file, plain: parse(text) });
    expect(parseScenario(file, text)).toEqual(parseScenario(file, inFull(text)));
  }
});

test('a plain file with a mistake is refused where the yaml library points', () => {
  const text = 'name: a\nhosts:\n  r0: {}\nsteps:\n  - r0: ls\n  - r9: ls\n    expect: { exit: 300 }\n';
  expect(readPlainYaml(text)).toBeDefined();
  expect(() => parseScenario('lab.yaml', text)).toThrow(/^lab\.yaml:6:5: 'r9' is neither a host/);
  const badExit = 'name: a\nhosts:\n  r0: {}\nsteps:\n  - r0: ls\n    expect: { exit: 300 }\n';
  expect(() => parseScenario('lab.yaml', badExit)).toThrow(/^lab\.yaml:6:\d+: expected/);
});
