#!/usr/bin/env node
'use strict';
const path = require('path');
const fs = require('fs');
const vm = require('vm');
const v8 = require('v8');
const { isAscii } = require('buffer');
const Module = require('module');
const bundle = path.join(__dirname, '..', 'dist', 'cnmlab.js');
if (!fs.existsSync(bundle)) {
  process.stderr.write('cnmlab: dist/cnmlab.js is missing; run `npm install` (or `npm run build`) in the repository first\n');
  process.exit(2);
}

// Most commands are over in a fraction of a second, before optimised code would pay back its
// compilation, which runs on a second thread (CPU time the user pays for too): V8 optimises a
// function only after twice its default budget of interpreted work, so a short command runs
// interpreted and a long one (a flood, a big swarm) is optimised a moment later. Twice keeps
// a short command's saving; four times delayed a long one's optimised code past what it
// saved. Set before the bundle is compiled: V8's code cache records the flags it was made
// under, and one set later would make every run's cache stale.
v8.setFlagsFromString('--interrupt-budget=135168');

// Compiling the bundle is most of a short command's time: V8's code cache for it, kept beside
// it, lets later processes skip that work. V8 rejects a cache made for other source or another
// V8, and it is then made anew; where dist/ cannot be written the bundle runs without one.
const cacheFile = `${bundle}.cache`;
// Every page a process touches for the first time costs it a fault, so both files are read
// through one buffer: the bundle first, made a string, then the cache over it.
const bundleFd = fs.openSync(bundle, 'r');
const bundleSize = fs.fstatSync(bundleFd).size;
// A cache that cannot be opened or read (absent, a directory, an I/O error) is none.
let cacheFd;
let cacheSize = 0;
try {
  cacheFd = fs.openSync(cacheFile, 'r');
  cacheSize = fs.fstatSync(cacheFd).size;
} catch {
  if (cacheFd !== undefined) fs.closeSync(cacheFd);
  cacheFd = undefined;
  cacheSize = 0;
}
const buffer = Buffer.allocUnsafeSlow(Math.max(bundleSize, cacheSize));
const bytes = buffer.subarray(0, fs.readSync(bundleFd, buffer, 0, bundleSize, 0));
fs.closeSync(bundleFd);
// The build escapes every character beyond ASCII, so the bundle reads as Latin-1, without
// UTF-8 decoding; a bundle that is not ASCII after all is decoded as UTF-8.
const text = isAscii(bytes) ? bytes.latin1Slice() : bytes.toString('utf8');
let cachedData;
if (cacheFd !== undefined) {
  try {
    cachedData = buffer.subarray(0, fs.readSync(cacheFd, buffer, 0, cacheSize, 0));
  } catch {
    cachedData = undefined;
  }
  fs.closeSync(cacheFd);
}
// The build writes the bundle inside Node's CommonJS wrapper, from this literal head
// (scripts/build-cli.js's WRAPPER_HEAD), not the running Node's Module.wrapper, which a tool or
// another Node may write otherwise; a bundle built before it did is wrapped here.
const WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const source = text.startsWith(WRAPPER_HEAD) ? text : Module.wrap(text);
const script = new vm.Script(source, { filename: bundle, cachedData });
const mod = { exports: {} };
script.runInThisContext()(mod.exports, Module.createRequire(bundle), mod, bundle, path.dirname(bundle));

function saveCache() {
  if (cachedData && !script.cachedDataRejected) return;
  const tmp = `${cacheFile}.${process.pid}`;
  try {
    fs.writeFileSync(tmp, script.createCachedData());
    fs.renameSync(tmp, cacheFile);
  } catch {
    fs.rmSync(tmp, { force: true });
  }
}

mod.exports.main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  saveCache();
});
