#!/usr/bin/env node
'use strict';
const path = require('path');
const fs = require('fs');
const vm = require('vm');
const Module = require('module');
const bundle = path.join(__dirname, '..', 'dist', 'cnmlab.js');
if (!fs.existsSync(bundle)) {
  process.stderr.write('cnmlab: dist/cnmlab.js is missing; run `npm install` (or `npm run build`) in the repository first\n');
  process.exit(2);
}

// Compiling the bundle is most of a short command's time: V8's code cache for it, kept beside
// it, lets later processes skip that work. V8 rejects a cache made for other source or another
// V8, and it is then made anew; where dist/ cannot be written the bundle runs without one.
const cacheFile = `${bundle}.cache`;
let cachedData;
try {
  cachedData = fs.readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
const script = new vm.Script(Module.wrap(fs.readFileSync(bundle, 'utf8')), { filename: bundle, cachedData });
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
