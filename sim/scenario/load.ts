/**
 * Reads a scenario file. Every problem is reported as `FILE:LINE:COL: what was expected`,
 * as an InputError (exit 2, no stack trace).
 */
import * as fs from 'fs';
import type { Alias, Document, LineCounter } from 'yaml';
import { compilePattern } from './pattern';
import { InputError } from '../errors';
import { expectPaths, HOST_RE, plainlyValidExpect, plainlyValidScenario, plainlyValidTimeout, RawScenario, Scenario, scenarioSchemas, Step } from './schema';
import { ipv4ToNumber, numberToIpv4 } from '../wire/addr';
import { shellWords } from '../text/words';
import { PlainDocument, readPlainYaml } from './plain-yaml';

export const DEFAULT_UNDERLAY_BASE = '198.51.100.10';

/**
 * The yaml library, loaded when a file first needs it: a file the plain reader takes whole
 * (the seed lab is one) never does, and a process that does not load it starts sooner.
 */
function yamlLibrary(): typeof import('yaml') {
  return require('yaml') as typeof import('yaml');
}

function position(doc: Document, lc: LineCounter, path: (string | number)[]): { line: number; col: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return lc.linePos(node.range[0]);
  }
  return { line: 1, col: 1 };
}

/** Names given with --name in `docker run` commands, so steps can target containers. */
function containerNames(command: string): string[] {
  let words: string[];
  try {
    words = shellWords(command);
  } catch {
    return [];
  }
  if (words[0] !== 'docker' || words[1] !== 'run') return [];
  const names: string[] = [];
  for (let i = 2; i < words.length; i++) {
    if (words[i] === '--name' && words[i + 1]) names.push(words[i + 1]);
    else if (words[i].startsWith('--name=')) names.push(words[i].slice(7));
  }
  return names;
}

/** Alias expansions a scenario may make; a real one makes a handful. */
const MAX_ALIAS_COUNT = 1000;

/** Where the first alias is that names no anchor, or else the first alias: what toJS() refused. */
function aliasPosition(doc: Document, lc: LineCounter): { line: number; col: number } {
  let unresolved: Alias | undefined;
  let first: Alias | undefined;
  yamlLibrary().visit(doc, {
    Alias(_key, node) {
      first ??= node;
      if (!unresolved && node.resolve(doc) === undefined) unresolved = node;
    },
  });
  const at = unresolved ?? first;
  return at?.range ? lc.linePos(at.range[0]) : { line: 1, col: 1 };
}

/** A scenario file's document as the checks below read it, and where to point when one fails. */
interface ScenarioSource {
  top: Record<string, unknown>;
  /** Throws the InputError for the node at `path` (or the nearest of its parents). */
  fail(path: (string | number)[], message: string): never;
  /** Throws the InputError for a top-level key. */
  failAtKey(key: string, message: string): never;
  /** The 1-based line the step at `index` of `steps` begins on; `step` is its value. */
  stepLine(index: number, step: object): number;
}

/** The plain reader cannot say where a problem is: the file is read again by the yaml library, which can. */
class ReadInFull extends Error {}

function plainSource(doc: PlainDocument): ScenarioSource {
  const refer = (): never => {
    throw new ReadInFull();
  };
  return { top: doc.value, fail: refer, failAtKey: refer, stepLine: (_index, step) => doc.itemLine.get(step) ?? refer() };
}

function yamlSource(file: string, text: string): ScenarioSource {
  const { isMap, isScalar, LineCounter, parseDocument } = yamlLibrary();
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const fail = (path: (string | number)[], message: string): never => {
    const { line, col } = position(doc, lc, path);
    throw new InputError(`${file}:${line}:${col}: ${message}`);
  };
  const failAtKey = (key: string, message: string): never => {
    const pair = isMap(doc.contents) ? doc.contents.items.find((p) => isScalar(p.key) && p.key.value === key) : undefined;
    const range = pair && isScalar(pair.key) ? pair.key.range : undefined;
    const { line, col } = range ? lc.linePos(range[0]) : { line: 1, col: 1 };
    throw new InputError(`${file}:${line}:${col}: ${message}`);
  };
  if (doc.errors.length) {
    const e = doc.errors[0];
    const { line, col } = lc.linePos(e.pos[0]);
    throw new InputError(`${file}:${line}:${col}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  if (!isMap(doc.contents)) fail([], 'expected a mapping with name, hosts and steps');
  let top: Record<string, unknown>;
  try {
    // The yaml library caps alias expansion (a "billion laughs" file) and refuses an alias
    // to no anchor only here, when the document becomes values.
    top = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as Record<string, unknown>;
  } catch (e) {
    const { line, col } = aliasPosition(doc, lc);
    const why = e instanceof RangeError ? 'nested too deeply' : (e as Error).message.split('\n')[0];
    throw new InputError(`${file}:${line}:${col}: invalid YAML: ${why}`);
  }
  const stepLine = (index: number) => {
    const node = doc.getIn(['steps', index], true) as { range?: [number, number, number] };
    return node?.range ? lc.linePos(node.range[0]).line : 0;
  };
  return { top, fail, failAtKey, stepLine };
}

export function parseScenario(file: string, text: string): Scenario {
  // Plain YAML (a generated scenario of thousands of steps is) is read without the yaml library's parser.
  const plain = readPlainYaml(text);
  if (plain) {
    try {
      return scenarioOf(file, plainSource(plain));
    } catch (e) {
      if (!(e instanceof ReadInFull)) throw e;
    }
  }
  return scenarioOf(file, yamlSource(file, text));
}

function scenarioOf(file: string, source: ScenarioSource): Scenario {
  const { top, fail, failAtKey } = source;
  const known = ['name', 'description', 'seed', 'timeout', 'delays', 'hosts', 'steps'];
  const unknown = Object.keys(top).filter((k) => !known.includes(k));
  if (unknown.length) failAtKey(unknown[0], `unexpected key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} (expected name, description, seed, timeout, delays, hosts, steps)`);
  const parsed = plainlyValidScenario(top) ? { success: true as const, data: top } : scenarioSchemas().scenarioSchema.safeParse(top);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') message = `unexpected key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}${path.length ? ` in '${path.join('.')}'` : ''}`;
    else if (issue.code === 'invalid_type') message = `expected ${issue.expected}${path.length ? ` for '${path.join('.')}'` : ''}`;
    else if (issue.code === 'invalid_format' || issue.code === 'custom' || issue.code === 'too_small') message = `expected ${message}${path.length ? ` for '${path.join('.')}'` : ''}`;
    // A record's key (a host's name): zod's own words say only that some key is invalid.
    else if (issue.code === 'invalid_key') message = `expected ${issue.issues[0]?.message ?? 'another key'}, got '${String(path[path.length - 1])}' in '${path.slice(0, -1).join('.')}'`;
    fail(path, message);
  }
  const raw: RawScenario = parsed.data!;
  const hosts: Scenario['hosts'] = [];
  const base = ipv4ToNumber(DEFAULT_UNDERLAY_BASE);
  const used = new Set<string>();
  Object.entries(raw.hosts).forEach(([name, opts], i) => {
    const underlay = opts?.underlay ?? numberToIpv4(base + i);
    if (used.has(underlay)) fail(['hosts', name, 'underlay'], `underlay address ${underlay} is already used by another host`);
    used.add(underlay);
    hosts.push({ name, underlay });
  });
  const hostNames = new Set(hosts.map((h) => h.name));
  const containers = new Set<string>();
  const steps: Step[] = raw.steps.map((s, index) => {
    const keys = Object.keys(s).filter((k) => k !== 'expect' && k !== 'timeout');
    if (keys.length !== 1) fail(['steps', index], `expected exactly one key naming a host or container, and an optional 'expect' and 'timeout' (found ${keys.length ? keys.map((k) => `'${k}'`).join(', ') : 'none'})`);
    const on = keys[0];
    const command = s[on];
    if (typeof command !== 'string' || command.trim() === '') fail(['steps', index, on], `expected a command line for '${on}'`);
    if (!hostNames.has(on) && !containers.has(on)) {
      fail(['steps', index], `'${on}' is neither a host (${[...hostNames].join(', ')}) nor a container started by an earlier step`);
    }
    let expect: Step['expect'];
    if (s.expect !== undefined) {
      const e = plainlyValidExpect(s.expect) ? { success: true as const, data: s.expect } : scenarioSchemas().expectSchema.safeParse(s.expect);
      if (!e.success) {
        const issue = e.error.issues[0];
        const sub = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
        const message = issue.code === 'unrecognized_keys' ? `unexpected key '${issue.keys[0]}' in expect (expected exit, stdout, stderr, path, drop-at)`
          : issue.code === 'invalid_value' ? `expected one of ${[...expectPaths().slice(1), 'none'].join(', ')} for 'expect.path'`
          : `expected ${issue.code === 'invalid_type' ? issue.expected : issue.message} for 'expect.${sub.join('.')}'`;
        fail(['steps', index, 'expect', ...sub], message);
      }
      expect = e.data;
      for (const stream of ['stdout', 'stderr'] as const) {
        const pattern = expect![stream];
        if (pattern === undefined) continue;
        try {
          compilePattern(pattern);
        } catch (err) {
          fail(['steps', index, 'expect', stream], `expected a valid regular expression for 'expect.${stream}' (${(err as Error).message})`);
        }
      }
      if (expect!['drop-at'] !== undefined && expect!.path !== 'none') fail(['steps', index, 'expect', 'drop-at'], "expected 'drop-at' only with 'path: none'");
    }
    let timeout: number | undefined;
    if (s.timeout !== undefined) {
      const t = plainlyValidTimeout(s.timeout) ? { success: true as const, data: s.timeout } : scenarioSchemas().timeoutSchema.safeParse(s.timeout);
      if (!t.success) fail(['steps', index, 'timeout'], `expected seconds from 0.1 to 3600 for 'timeout'`);
      timeout = t.data;
    }
    if (hostNames.has(on)) for (const n of containerNames(command as string)) containers.add(n);
    return { index, on, command: (command as string).trim(), expect, timeout, line: source.stepLine(index, s) };
  });
  for (const h of hostNames) if (!HOST_RE.test(h)) fail(['hosts', h], 'expected a plain host name');
  return { file, name: raw.name, description: raw.description, seed: raw.seed, timeout: raw.timeout, delays: raw.delays, hosts, steps };
}

export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`);
  }
  return parseScenario(file, text);
}

