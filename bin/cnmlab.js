#!/usr/bin/env node
'use strict';
const path = require('path');
const fs = require('fs');
const bundle = path.join(__dirname, '..', 'dist', 'cnmlab.js');
if (!fs.existsSync(bundle)) {
  process.stderr.write('cnmlab: dist/cnmlab.js is missing; run `npm install` (or `npm run build`) in the repository first\n');
  process.exit(2);
}
require(bundle).main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
