'use strict';
/**
 * Bundles the CLI (bin/main.ts) into dist/cnmlab.js, which bin/cnmlab.js runs from V8's code
 * cache. Minified (whitespace and syntax; names kept, for stack traces) and so pure ASCII:
 * bin/cnmlab.js reads it as Latin-1. The file is one function expression, Node's CommonJS
 * wrapper around the bundle, so bin/cnmlab.js compiles the text as read: wrapping it at run
 * time would make a second string of it that V8 copies whole into a third before compiling.
 * Nothing calls that function but bin/cnmlab.js, which then calls the bundle's main: dist/cnmlab.js
 * runs only through bin/cnmlab.js (`node dist/cnmlab.js` defines a function and exits).
 */
const path = require('path');
const esbuild = require('esbuild');

const repo = path.join(__dirname, '..');

/**
 * Node's CommonJS wrapper, the function bin/cnmlab.js calls with the bundle's module, require
 * and paths. A literal, not the building Node's Module.wrapper: bin/cnmlab.js knows a wrapped
 * bundle by this head, which a tool patching Module.wrapper or another Node would not change.
 */
const WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const WRAPPER_TAIL = '\n});';

/**
 * commander requires child_process as it loads, for executable subcommands, which cnmlab has
 * none of; child_process brings net, dgram and the stream modules with it. Commander gets a
 * stand-in that loads child_process when it first spawns. Everyone else gets the real module.
 */
const lazyChildProcessForCommander = {
  name: 'lazy-child-process-for-commander',
  setup(build) {
    build.onResolve({ filter: /^(node:)?child_process$/ }, (args) => (/[\\/]node_modules[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace: 'commander-child-process' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'commander-child-process' }, () => ({
      contents: "module.exports = { get spawn() { return require('node:child_process').spawn; } };",
      loader: 'js',
      resolveDir: repo,
    }));
  },
};

esbuild.build({
  entryPoints: [path.join(repo, 'bin', 'main.ts')],
  outfile: path.join(repo, 'dist', 'cnmlab.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minifyWhitespace: true,
  minifySyntax: true,
  external: ['playwright-core', 'pcap-parser', 'zod', 'ajv'],
  plugins: [lazyChildProcessForCommander],
  banner: { js: WRAPPER_HEAD },
  footer: { js: WRAPPER_TAIL },
  logLevel: 'warning',
}).catch(() => {
  process.exitCode = 1;
});
