/**
 * `cnmlab lab --web`: one self-contained HTML file holding the whole sim (dist/lab.js, built
 * from lab/web/main.ts), the report's stylesheet and the lab's, and the scenario as JSON. It
 * opens from file:// or any static host and fetches nothing.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Scenario } from '../../sim/scenario/schema';
import { reportApp } from '../../viz/report';
import { checkOutputFile, writeOutputFile } from '../output';

function asset(name: string): string {
  const candidates = [path.join(__dirname, name), path.join(__dirname, '..', 'dist', name), path.join(__dirname, '..', '..', 'dist', name)];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`lab asset ${name} is missing; run npm run build`);
  return fs.readFileSync(found, 'utf8');
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Writes the page; one line on stderr says where and how big. */
export function writeLabPage(s: Scenario, output: string): void {
  checkOutputFile('-o', output);
  const html = buildLabPage(s);
  writeOutputFile('-o', output, html);
  process.stderr.write(`cnmlab: wrote ${output} (${s.name}, ${s.steps.length} step(s), ${(Buffer.byteLength(html) / 1024).toFixed(0)} KiB)\n`);
}

export function buildLabPage(s: Scenario): string {
  const { name, description, seed, delays, hosts, steps } = s;
  // JSON inside <script> must never close the element.
  const data = JSON.stringify({ file: path.basename(s.file), name, description, seed, delays, hosts, steps }).replace(/</g, '\\u003c');
  const script = asset('lab.js').replace(/<\/script/gi, '<\\/script');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>cnmlab lab · ${escapeHtml(name)}</title>
<style>${asset('viz.css')}
${asset('lab.css')}</style>
</head>
<body>
<div id="lab">
<aside id="panel">
  <h1 id="lab-title"></h1>
  <p id="lab-description"></p>
  <h2>Steps</h2>
  <ol id="checklist"></ol>
  <h2>Download</h2>
  <div id="downloads">
    <button data-download="scenario">session as a scenario (.yaml)</button>
    <button data-download="trace">trace (.json)</button>
    <label>capture at <select id="pcap-point" aria-label="capture point"></select></label>
    <button data-download="pcap">capture (.pcap)</button>
  </div>
</aside>
<section id="terminals"><nav id="tabs" aria-label="terminals"></nav><div id="screens"></div></section>
<div id="viz">
${reportApp()}</div>
</div>
<script id="scenario" type="application/json">${data}</script>
<script>${script}</script>
</body>
</html>
`;
}
