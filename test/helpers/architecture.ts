/**
 * The import graph of the production code and the layering rules it must keep. Imports are
 * read with the TypeScript compiler's parser: `import` (type-only too), `export … from`,
 * `import()` and `require()`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { builtinModules } from 'module';
import ts from 'typescript';

/** Each file (repo-relative, '/'-separated) and the modules it imports: repo files resolved, packages by name. */
export type ImportGraph = Map<string, string[]>;

/** The module specifiers a source text names. */
export function specifiersOf(fileName: string, text: string): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      found.push(node.moduleReference.expression.text);
    } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0])
      && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) {
      found.push(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** A relative specifier as the repo file it names; a package as its name (`node:` dropped, subpaths kept). */
function resolve(repo: string, from: string, spec: string): string {
  if (!spec.startsWith('.')) return spec.replace(/^node:/, '');
  const base = path.resolve(repo, path.dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, path.join(base, 'index.ts')]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return path.relative(repo, candidate).split(path.sep).join('/');
  }
  throw new Error(`${from}: cannot resolve ${spec}`);
}

/** The production sources: every .ts file under these folders. */
export const PRODUCTION = ['sim', 'emu', 'viz', 'bin', 'lab'];

export function importGraph(repo: string): ImportGraph {
  const graph: ImportGraph = new Map();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(path.join(repo, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        graph.set(rel, specifiersOf(rel, fs.readFileSync(path.join(repo, rel), 'utf8')).map((s) => resolve(repo, rel, s)));
      }
    }
  };
  for (const dir of PRODUCTION) walk(dir);
  return graph;
}

/**
 * The folder a file belongs to for the rules: sim's subfolders each count alone, files
 * directly in sim/ are `sim`, and emu, viz, bin and lab are one folder each.
 */
export function folderOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'sim') return parts.length > 2 ? `sim/${parts[1]}` : 'sim';
  return parts[0];
}

const isRepoFile = (m: string) => m.endsWith('.ts') || m.endsWith('.json');

/** Node's own modules, and packages that only run on Node. */
const NODE_ONLY_PACKAGES = new Set(['pcap-parser', 'execa']);
export function isNodeOnly(module: string): boolean {
  const name = module.split('/')[0];
  return builtinModules.includes(name) || NODE_ONLY_PACKAGES.has(name);
}

/**
 * The sim core's named adapters: the only core files that may touch Node (the files and
 * parsers a browser build replaces). Everything else in sim/ is bundled as it is.
 */
export const NODE_ADAPTERS: Record<string, string> = {
  'sim/pcap/source.ts': 'reads capture files and pipes, a chunk at a time',
  'sim/pcap/writer.ts': 'writes capture files',
  'sim/scenario/load.ts': 'reads scenario files',
  'sim/docker/machine.ts': "reads the machine's kernel, CPUs and memory for docker info",
};

/**
 * Adapters the browser lab reaches whose Node modules its build (package.json, esbuild
 * --alias:node:MODULE) replaces with stand-ins: `docker info` reads the machine through them.
 */
export const PAGE_STANDINS: Record<string, Record<string, string>> = {
  'sim/docker/machine.ts': { os: 'lab/web/node-os.ts', fs: 'lab/web/node-fs.ts' },
};

export interface Violation {
  rule: string;
  edge: string;
}

/** Folders a folder reaches, directly or not, through the graph. */
function reach(graph: ImportGraph, from: (file: string) => boolean): Map<string, string> {
  // Each reached file, with the first file chain that got there (for the message).
  const seen = new Map<string, string>();
  const queue: string[] = [];
  for (const f of graph.keys()) {
    if (from(f)) {
      seen.set(f, f);
      queue.push(f);
    }
  }
  while (queue.length) {
    const f = queue.shift()!;
    for (const m of graph.get(f) ?? []) {
      if (!isRepoFile(m) || seen.has(m)) continue;
      seen.set(m, `${seen.get(f)} → ${m}`);
      queue.push(m);
    }
  }
  return seen;
}

/** `from` must not reach `to`, directly or through other files. */
function forbid(graph: ImportGraph, rule: string, from: (folder: string) => boolean, to: (folder: string) => boolean): Violation[] {
  const out: Violation[] = [];
  for (const [file, chain] of reach(graph, (f) => from(folderOf(f)))) {
    if (to(folderOf(file)) && !from(folderOf(file))) out.push({ rule, edge: chain });
  }
  return out;
}

/** Folder-level cycles: each strongly connected group of more than one folder (Tarjan). */
export function folderCycles(graph: ImportGraph): string[][] {
  const edges = new Map<string, Set<string>>();
  for (const [file, mods] of graph) {
    const a = folderOf(file);
    if (!edges.has(a)) edges.set(a, new Set());
    for (const m of mods) if (isRepoFile(m) && folderOf(m) !== a) edges.get(a)!.add(folderOf(m));
  }
  let counter = 0;
  const index = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], on = new Set<string>();
  const groups: string[][] = [];
  const strong = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) groups.push(group.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) strong(v);
  return groups;
}

const is = (...folders: string[]) => (f: string) => folders.includes(f);
const SIM_CORE = (f: string) => f === 'sim' || f.startsWith('sim/');

/** Every rule, with what breaks it. */
export function violations(graph: ImportGraph): Violation[] {
  const out: Violation[] = [
    ...forbid(graph, 'the sim kernel does not reach emu', is('sim/kernel'), is('emu')),
    ...forbid(graph, 'emu does not reach the sim kernel', is('emu'), is('sim/kernel')),
    ...forbid(graph, 'the model does not reach a backend or the docker CLI', is('sim/model'), is('sim/kernel', 'emu', 'sim/docker')),
    ...forbid(graph, 'viz does not reach emu', is('viz'), is('emu')),
  ];
  // The lab runs in a browser page too: nothing it reaches, adapters included, may touch Node,
  // but for the modules the page's build replaces with stand-ins (PAGE_STANDINS).
  for (const [file, chain] of reach(graph, (f) => folderOf(f) === 'lab')) {
    for (const m of graph.get(file) ?? []) if (!isRepoFile(m) && isNodeOnly(m) && !PAGE_STANDINS[file]?.[m]) out.push({ rule: 'the lab reaches no Node-only module (a browser page bundles it)', edge: `${chain} → ${m}` });
  }
  for (const [file, mods] of graph) {
    if (folderOf(file) === 'sim/wire') {
      for (const m of mods) if (isRepoFile(m) && folderOf(m) !== 'sim/wire') out.push({ rule: 'the wire codecs import nothing of the project outside sim/wire', edge: `${file} → ${m}` });
    }
    if (SIM_CORE(folderOf(file)) && !(file in NODE_ADAPTERS)) {
      for (const m of mods) if (!isRepoFile(m) && isNodeOnly(m)) out.push({ rule: 'the sim core touches Node only through named adapters', edge: `${file} → ${m}` });
    }
  }
  for (const group of folderCycles(graph)) out.push({ rule: 'no folder cycle', edge: group.join(' ↔ ') });
  return out;
}

/** Where code may ask which driver a network has: the drivers themselves (the registry dispatches once). */
export const DRIVER_SEAM = 'sim/model/drivers/';

/**
 * Places in a source text that ask which driver a network has: a `.driver` (or a `driver`
 * variable) compared with a string (`net.driver === 'overlay'`), or switched on.
 */
export function driverQuestionsIn(fileName: string, text: string): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const isDriver = (e: ts.Expression) => (ts.isPropertyAccessExpression(e) && e.name.text === 'driver') || (ts.isIdentifier(e) && e.text === 'driver');
  const isString = (e: ts.Expression) => ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e);
  const equality = new Set([ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken, ts.SyntaxKind.EqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsToken]);
  const at = (node: ts.Node) => `${fileName}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}: ${node.getText(sf)}`;
  const visit = (node: ts.Node) => {
    if (ts.isBinaryExpression(node) && equality.has(node.operatorToken.kind)
      && ((isDriver(node.left) && isString(node.right)) || (isDriver(node.right) && isString(node.left)))) found.push(at(node));
    else if (ts.isSwitchStatement(node) && isDriver(node.expression)) found.push(at(node.expression));
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** Every production file's driver questions outside the driver seam. */
export function driverQuestions(repo: string, graph: ImportGraph): string[] {
  return [...graph.keys()].filter((f) => !f.startsWith(DRIVER_SEAM)).flatMap((f) => driverQuestionsIn(f, fs.readFileSync(path.join(repo, f), 'utf8')));
}
