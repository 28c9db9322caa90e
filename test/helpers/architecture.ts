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

/**
 * Node's globals, each as the module it stands for: a file that uses one needs Node as much
 * as a file that imports that module, so the graph records it as an import of it. `Buffer`
 * is not among them: the browser lab's build injects a stand-in for it (lab/web/buffer.ts).
 */
export const NODE_GLOBALS: Record<string, string> = {
  process: 'process', __dirname: 'module', __filename: 'module', require: 'module', module: 'module', exports: 'module',
  setImmediate: 'timers', clearImmediate: 'timers', global: 'process',
};

/** The Node modules a source text reaches through Node's globals (a name the file declares itself is its own). */
export function nodeGlobalsOf(fileName: string, text: string): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const declared = new Set<string>();
  const used = new Set<string>();
  const visit = (node: ts.Node) => {
    const named = node as ts.Node & { name?: ts.Node };
    if ((ts.isVariableDeclaration(node) || ts.isFunctionDeclaration(node) || ts.isParameter(node) || ts.isClassDeclaration(node) || ts.isImportSpecifier(node)
      || ts.isImportClause(node) || ts.isNamespaceImport(node) || ts.isImportEqualsDeclaration(node)) && named.name && ts.isIdentifier(named.name)) declared.add(named.name.text);
    if (ts.isIdentifier(node) && Object.hasOwn(NODE_GLOBALS, node.text) && !isMemberName(node)) used.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return [...new Set([...used].filter((g) => !declared.has(g)).map((g) => NODE_GLOBALS[g]))];
}

/** An identifier that names a member or a declaration, not a value in scope (`x.process`, `{ process: 1 }`, `process(): void`). */
function isMemberName(node: ts.Identifier): boolean {
  const p = node.parent;
  return (ts.isPropertyAccessExpression(p) && p.name === node) || (ts.isPropertyAssignment(p) && p.name === node) || (ts.isPropertySignature(p) && p.name === node)
    || (ts.isPropertyDeclaration(p) && p.name === node) || (ts.isMethodDeclaration(p) && p.name === node) || (ts.isMethodSignature(p) && p.name === node)
    || (ts.isQualifiedName(p) && p.right === node) || (ts.isBindingElement(p) && p.propertyName === node)
    || (ts.isCallExpression(p) && p.expression === node && node.text === 'require' && p.arguments.length === 1 && ts.isStringLiteral(p.arguments[0]));
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
        const text = fs.readFileSync(path.join(repo, rel), 'utf8');
        graph.set(rel, [...specifiersOf(rel, text).map((s) => resolve(repo, rel, s)), ...nodeGlobalsOf(rel, text)]);
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
const NODE_ONLY_PACKAGES = new Set(['pcap-parser']);
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

/** The registry's lookups: what they return is a network's driver. */
const DRIVER_LOOKUPS = new Set(['driverOf', 'driverNamed']);

/**
 * Places in a source text that ask which driver a network has: a network's driver name (a
 * `.driver`, a `driver` variable) or a driver's own `.name` (of `driverOf(net)`, or of a
 * variable holding it) compared with a string (`net.driver === 'overlay'`,
 * `driverOf(net).name !== 'bridge'`), looked up in a list of names
 * (`['overlay', 'bridge'].includes(net.driver)`), or switched on.
 */
export function driverQuestionsIn(fileName: string, text: string): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found: string[] = [];
  // Variables that hold a driver the registry gave (`const d = driverOf(net)`).
  const holders = new Set<string>();
  const isLookup = (e: ts.Expression) => ts.isCallExpression(e) && ts.isIdentifier(e.expression) && DRIVER_LOOKUPS.has(e.expression.text);
  const collect = (node: ts.Node) => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer && isLookup(node.initializer)) holders.add(node.name.text);
    ts.forEachChild(node, collect);
  };
  collect(sf);
  const isDriver = (e: ts.Expression) => (ts.isPropertyAccessExpression(e) && e.name.text === 'driver') || (ts.isIdentifier(e) && e.text === 'driver')
    || (ts.isPropertyAccessExpression(e) && e.name.text === 'name' && (isLookup(e.expression) || (ts.isIdentifier(e.expression) && holders.has(e.expression.text))));
  const isString = (e: ts.Expression) => ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e);
  const isNames = (e: ts.Expression) => ts.isArrayLiteralExpression(e) && e.elements.length > 0 && e.elements.every((x) => isString(x));
  const equality = new Set([ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken, ts.SyntaxKind.EqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsToken]);
  const at = (node: ts.Node) => `${fileName}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}: ${node.getText(sf)}`;
  const visit = (node: ts.Node) => {
    if (ts.isBinaryExpression(node) && equality.has(node.operatorToken.kind)
      && ((isDriver(node.left) && isString(node.right)) || (isDriver(node.right) && isString(node.left)))) found.push(at(node));
    else if (ts.isSwitchStatement(node) && isDriver(node.expression)) found.push(at(node.expression));
    else if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'includes'
      && isNames(node.expression.expression) && node.arguments.length === 1 && isDriver(node.arguments[0])) found.push(at(node));
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** Every production file's driver questions outside the driver seam. */
export function driverQuestions(repo: string, graph: ImportGraph): string[] {
  return [...graph.keys()].filter((f) => !f.startsWith(DRIVER_SEAM)).flatMap((f) => driverQuestionsIn(f, fs.readFileSync(path.join(repo, f), 'utf8')));
}

/** Where step numbers may be written: the path models, one file a path (sim/trace/paths/). */
export const PATH_MODELS = 'sim/trace/paths/';

/**
 * Places in a source text that write a path's step as a number: a `step` (a property, a
 * variable) given or compared with a numeric literal (`{ step: 4 }`, `h.step === 8`,
 * `step >= 3`). Outside the path models a step is always one a model gave.
 */
export function stepNumbersIn(fileName: string, text: string): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const isStep = (e: ts.Node) => (ts.isPropertyAccessExpression(e) && e.name.text === 'step') || (ts.isIdentifier(e) && e.text === 'step')
    || (ts.isElementAccessExpression(e) && ts.isStringLiteral(e.argumentExpression) && e.argumentExpression.text === 'step');
  const isNumber = (e: ts.Node) => ts.isNumericLiteral(e) || (ts.isPrefixUnaryExpression(e) && ts.isNumericLiteral(e.operand));
  const comparison = new Set([ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken, ts.SyntaxKind.EqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsToken,
    ts.SyntaxKind.LessThanToken, ts.SyntaxKind.LessThanEqualsToken, ts.SyntaxKind.GreaterThanToken, ts.SyntaxKind.GreaterThanEqualsToken, ts.SyntaxKind.EqualsToken]);
  const at = (node: ts.Node) => `${fileName}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}: ${node.getText(sf)}`;
  const visit = (node: ts.Node) => {
    if (ts.isBinaryExpression(node) && comparison.has(node.operatorToken.kind) && ((isStep(node.left) && isNumber(node.right)) || (isStep(node.right) && isNumber(node.left)))) found.push(at(node));
    else if ((ts.isPropertyAssignment(node) || ts.isVariableDeclaration(node)) && node.name && isStep(node.name) && node.initializer && isNumber(node.initializer)) found.push(at(node));
    else if (ts.isCaseClause(node) && isNumber(node.expression) && ts.isSwitchStatement(node.parent.parent) && isStep(node.parent.parent.expression)) found.push(at(node.expression));
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** Every production file's step numbers outside the path models. */
export function stepNumbers(repo: string, graph: ImportGraph): string[] {
  return [...graph.keys()].filter((f) => !f.startsWith(PATH_MODELS)).flatMap((f) => stepNumbersIn(f, fs.readFileSync(path.join(repo, f), 'utf8')));
}

/** The seam's own files, which any code may import: the registry (`driverOf`, `packetWay` …) and the interface with its types. */
const SEAM_FILES = new Set([`${DRIVER_SEAM}index.ts`, `${DRIVER_SEAM}driver.ts`]);

/**
 * Files outside the model that may import a driver's own files: each is the front end of
 * commands that belong to one driver (they read its state and call its operations by name).
 * Everything else outside `sim/model/` asks the registry.
 */
export const DRIVER_FRONT_ENDS: Record<string, string> = {
  'sim/runner/control-plane.ts': 'a dockerd restart with --cluster-store (overlay-kv), and systemctl stop|start docker',
  'sim/flannel/flanneld.ts': 'etcdctl, flanneld, its subnet file and a dockerd restart with --bip (flannel)',
  'sim/calico/calicoctl.ts': 'calicoctl (calico)',
  'sim/weave/cli.ts': 'the weave script (weavemesh)',
  'sim/docker/info.ts': "docker info's cluster store lines (overlay-kv)",
};

/**
 * Imports of a driver's own files (not the registry or the interface) from outside
 * `sim/model/`, other than by a named front end or by the driver's own bundle in the
 * registration (`sim/drivers/<driver>.ts`, loading `sim/model/drivers/<driver>.ts`).
 */
export function driverFileImports(graph: ImportGraph): string[] {
  const ownBundle = (file: string, m: string) => file.startsWith(REGISTRATION) && path.basename(file) === path.basename(m);
  return [...graph].flatMap(([file, modules]) => (file.startsWith('sim/model/') || Object.hasOwn(DRIVER_FRONT_ENDS, file)
    ? []
    : modules.filter((m) => m.startsWith(DRIVER_SEAM) && !SEAM_FILES.has(m) && !ownBundle(file, m)).map((m) => `${file} → ${m}`)));
}

/**
 * The files not a driver's own that may import a registered driver's own file, and whose:
 * dockerd's engine makes its built-in drivers' networks itself (docker0 as it starts,
 * docker_gwbridge on first need, ingress at `swarm init`), with what no `docker network
 * create` gives, as libnetwork's controller does for them; it is the engine starting, not a
 * network's driver being asked.
 */
export const ENGINE_BUILT_INS: Record<string, readonly string[]> = {
  'sim/model/swarm.ts': ['bridge', 'overlay'],
};

/** The drivers' registration: `index.ts`, one line a driver, and each driver's bundle beside it. */
export const REGISTRATION = 'sim/drivers/';

/**
 * Where a driver's own files live, one a layer, each named as the driver (`<layer><driver>.ts`)
 * and each registering itself with its layer's registry as it loads.
 */
export const DRIVER_LAYERS = ['sim/model/drivers/', 'sim/plan/links/', 'sim/kernel/net/', 'sim/trace/paths/', 'sim/compare/'];

/**
 * A driver's front end, its own folder `sim/<driver>/` (calicoctl, the weave script): the host
 * programs it brings, each file registering its programs with the shell as it loads.
 */
export const frontEndOf = (driver: string): string => `sim/${driver}/`;

/** Whether `file` is one of `driver`'s own files: its file in a layer, or one in its front end's folder. */
export const isOwnFile = (driver: string, file: string): boolean =>
  DRIVER_LAYERS.some((layer) => file === `${layer}${driver}.ts`) || (file.startsWith(frontEndOf(driver)) && !file.slice(frontEndOf(driver).length).includes('/'));

/** The drivers a registration module registers (`import './NAME';`, one a line), and what in it is anything else. */
export function registrationLinesIn(fileName: string, text: string): { drivers: string[]; faults: string[] } {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const drivers: string[] = [], faults: string[] = [];
  const at = (node: ts.Node) => `${fileName}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}: ${node.getText(sf)}`;
  for (const s of sf.statements) {
    const from = ts.isImportDeclaration(s) && !s.importClause && ts.isStringLiteral(s.moduleSpecifier) ? s.moduleSpecifier.text : undefined;
    const name = from && /^\.\/([a-z0-9-]+)$/.exec(from)?.[1];
    if (!name) faults.push(`${at(s)}: not a driver's registration line (import './<driver>';)`);
    else if (drivers.includes(name)) faults.push(`${at(s)}: ${name} registered twice`);
    else drivers.push(name);
    const lines = s.getText(sf).split('\n').length;
    if (name && lines > 1) faults.push(`${at(s)}: ${lines} lines`);
  }
  return { drivers, faults };
}

/** What a driver's bundle loads that is not its own file in one of the layers (`../<layer><driver>`, bare). */
export function bundleFaultsIn(fileName: string, text: string, driver: string): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const own = new Set(DRIVER_LAYERS.map((layer) => path.posix.relative(REGISTRATION, `${layer}${driver}`)));
  const frontEnd = path.posix.relative(REGISTRATION, frontEndOf(driver));
  return sf.statements.flatMap((s) => {
    const from = ts.isImportDeclaration(s) && !s.importClause && ts.isStringLiteral(s.moduleSpecifier) ? s.moduleSpecifier.text : undefined;
    const inFrontEnd = from?.startsWith(`${frontEnd}/`) && /^[a-z0-9_-]+$/.test(from.slice(frontEnd.length + 1));
    return from && (own.has(from) || inFrontEnd) ? [] : [`${fileName}:${sf.getLineAndCharacterOfPosition(s.getStart(sf)).line + 1}: ${s.getText(sf)}: not one of ${driver}'s own files in a layer (${[...own].join(', ')}) or its front end (${frontEnd}/…)`];
  });
}

/** A registered driver's own files: its bundle and what the bundle loads. */
export function ownFiles(driver: string, graph: ImportGraph): string[] {
  const bundle = `${REGISTRATION}${driver}.ts`;
  return [bundle, ...(graph.get(bundle) ?? []).filter((m) => isOwnFile(driver, m))];
}

/**
 * Everything that makes a registered driver more than its own files and its one line: a fault
 * of the registration module or of a bundle, a bundle no line registers, and a production file
 * other than the driver's own that imports one of them (a registry listing it, a caller
 * reaching into it), but the engine making its built-in networks (`ENGINE_BUILT_INS`).
 */
export function registrationFaults(repo: string, graph: ImportGraph): string[] {
  const index = `${REGISTRATION}index.ts`;
  const { drivers, faults } = registrationLinesIn(index, fs.readFileSync(path.join(repo, index), 'utf8'));
  for (const file of graph.keys()) {
    if (file.startsWith(REGISTRATION) && file !== index && !drivers.includes(path.basename(file, '.ts'))) faults.push(`${file}: a bundle no line of ${index} registers`);
  }
  for (const driver of drivers) {
    const bundle = `${REGISTRATION}${driver}.ts`;
    if (!graph.has(bundle)) {
      faults.push(`${index}: ${driver} has no bundle ${bundle}`);
      continue;
    }
    faults.push(...bundleFaultsIn(bundle, fs.readFileSync(path.join(repo, bundle), 'utf8'), driver));
    const own = new Set(ownFiles(driver, graph));
    for (const [file, modules] of graph) {
      if (own.has(file) || file === index || ENGINE_BUILT_INS[file]?.includes(driver)) continue;
      for (const m of modules) if (own.has(m)) faults.push(`${file} → ${m}: ${driver}'s own file imported by a file not its own`);
    }
  }
  return faults;
}

/**
 * Names the registry (`sim/model/drivers/index.ts`) imports from a driver's own file other
 * than its driver (`…Driver`): a driver's helper called by the registry is one driver's
 * case in code every driver shares (it belongs behind a method of `NetworkDriver`).
 */
export function registryHelpersIn(fileName: string, text: string): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found: string[] = [];
  for (const s of sf.statements) {
    if (!ts.isImportDeclaration(s) || !ts.isStringLiteral(s.moduleSpecifier)) continue;
    const from = s.moduleSpecifier.text;
    if (!from.startsWith('./') || from === './driver') continue;
    const bindings = s.importClause?.namedBindings;
    const names = bindings && ts.isNamedImports(bindings) ? bindings.elements.map((e) => (e.propertyName ?? e.name).text) : ['*'];
    if (s.importClause?.name) names.push('default');
    for (const n of names) if (!/Driver$/.test(n)) found.push(`${fileName}: ${n} from '${from}'`);
  }
  return found;
}

/** The folders that draw, capture or trace what the drivers made, and must learn it from them (never from a driver's fields). */
export const DRIVER_BLIND = ['sim/trace/', 'emu/', 'viz/', 'lab/'];

/**
 * Reads of a network's `bridge` field (the bridge driver's Linux bridge name: `n.bridge`,
 * `n?.bridge`, `n['bridge']`) in the driver-blind folders, found by TypeScript's checker (a
 * `bridge` of another type, a batch's `bridge` commands, is none). Which device a network
 * has is its driver's to say (`hostTopology`, `endpointPeer`, `captureSpots`). `extra`
 * adds files by repo-relative name and text, as if they were in the repository.
 */
export function networkBridgeReads(repo: string, graph: ImportGraph, extra: Record<string, string> = {}): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(repo, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (!config) throw new Error('tsconfig.json: cannot read it');
  const blind = (f: string) => DRIVER_BLIND.some((d) => f.startsWith(d));
  const abs = (f: string) => path.join(repo, f);
  const added = new Map(Object.entries(extra).map(([f, text]) => [abs(f), text]));
  const roots = [...[...graph.keys()].filter(blind), ...Object.keys(extra)].map(abs);
  const host = ts.createCompilerHost(config.options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, ...rest) => (added.has(name) ? ts.createSourceFile(name, added.get(name)!, ts.ScriptTarget.ES2022, true) : getSourceFile.call(host, name, ...rest));
  host.fileExists = (name) => added.has(name) || fileExists.call(host, name);
  host.readFile = (name) => added.get(name) ?? readFile.call(host, name);
  const program = ts.createProgram(roots, config.options, host);
  const checker = program.getTypeChecker();
  const world = abs('sim/model/world.ts');
  const isNetworkField = (name: ts.Node) => (checker.getSymbolAtLocation(name)?.declarations ?? [])
    .some((d) => d.getSourceFile().fileName === world && ts.isInterfaceDeclaration(d.parent) && d.parent.name.text === 'Network');
  const found: string[] = [];
  for (const file of roots) {
    const sf = program.getSourceFile(file)!;
    const visit = (node: ts.Node) => {
      const name = ts.isPropertyAccessExpression(node) && node.name.text === 'bridge' ? node.name
        : ts.isElementAccessExpression(node) && ts.isStringLiteral(node.argumentExpression) && node.argumentExpression.text === 'bridge' ? node.argumentExpression : undefined;
      if (name && isNetworkField(name)) found.push(`${path.relative(repo, file)}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}: ${node.getText(sf)}`);
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return found;
}

/** Every form of a driver's case outside the seam the test knows besides its questions: driver files imported, registry helpers. */
export function driverLeaks(repo: string, graph: ImportGraph): string[] {
  const registry = `${DRIVER_SEAM}index.ts`;
  return [...driverFileImports(graph), ...registryHelpersIn(registry, fs.readFileSync(path.join(repo, registry), 'utf8'))];
}

/** The tracer, and the one file that makes it: the datapath, which hands the kernel its two interfaces (net/tracepoints.ts). */
export const TRACER = 'sim/kernel/net/tracer.ts';
const TRACER_OWNER = 'sim/kernel/datapath.ts';
/** The device points: the one file whose functions (xmitTaps, recvTaps) call the packet taps. */
export const DEVICE_POINTS = 'sim/kernel/net/dev.ts';

/** Imports of the tracer by any file but the datapath: a driver or a subsystem calling the tracer itself. */
export function tracerImports(graph: ImportGraph): string[] {
  return [...graph].flatMap(([file, modules]) => (file === TRACER_OWNER ? [] : modules.filter((m) => m === TRACER).map((m) => `${file} → ${m}`)));
}

/** Places in a source text that reach the packet taps: `dp.taps`, `dp['taps']`, `const { taps } = dp`. */
export function tapReadsIn(fileName: string, text: string): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const at = (node: ts.Node) => `${fileName}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}: ${node.getText(sf)}`;
  const visit = (node: ts.Node) => {
    if ((ts.isPropertyAccessExpression(node) && node.name.text === 'taps')
      || (ts.isElementAccessExpression(node) && ts.isStringLiteral(node.argumentExpression) && node.argumentExpression.text === 'taps')
      || (ts.isBindingElement(node) && ts.isObjectBindingPattern(node.parent) && (node.propertyName ?? node.name).getText(sf) === 'taps')) found.push(at(node));
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** Every production file's reach for the packet taps outside the device points. */
export function tapReads(repo: string, graph: ImportGraph): string[] {
  return [...graph.keys()].filter((f) => f !== DEVICE_POINTS).flatMap((f) => tapReadsIn(f, fs.readFileSync(path.join(repo, f), 'utf8')));
}

/**
 * The registration indexes of the backends' programs (a driver's daemons, a kernel module
 * one driver uses): each loads its programs' modules, which register themselves with their
 * backend's registry as they load (sim/kernel/program_registry.ts, emu/programs.ts).
 */
export const PROGRAM_INDEXES = ['sim/kernel/program_index.ts', 'emu/program_index.ts'];

/**
 * Imports of a program module (one a registration index loads) by any file but an index or a
 * program (one may build on another: weave's router on Open vSwitch's datapath, its mesh on
 * the router): shared code of the kernel or emu naming a driver's program.
 */
export function programImports(graph: ImportGraph): string[] {
  const programs = new Set(PROGRAM_INDEXES.flatMap((index) => graph.get(index) ?? []));
  const mayImport = (file: string) => PROGRAM_INDEXES.includes(file) || programs.has(file);
  return [...graph].flatMap(([file, modules]) => (mayImport(file) ? [] : modules.filter((m) => programs.has(m)).map((m) => `${file} → ${m}`)));
}
