/**
 * `cnmlab lab --web`: one self-contained HTML file holding the whole sim (dist/lab.js, built
 * from lab/web/main.ts), the report's stylesheet and the lab's, and the scenario as JSON. It
 * opens from file:// or any static host and fetches nothing.
 */
import * as path from 'path';
import { Scenario } from '../../sim/scenario/schema';
import { offlinePage, reportApp } from '../../viz/report';
import { checkOutputFile, writeOutputFile } from '../output';

/** Writes the page; one line on stderr says where and how big. */
export function writeLabPage(s: Scenario, output: string): void {
  checkOutputFile('-o', output);
  const html = buildLabPage(s);
  writeOutputFile('-o', output, html);
  process.stderr.write(`cnmlab: wrote ${output} (${s.name}, ${s.steps.length} step(s), ${(Buffer.byteLength(html) / 1024).toFixed(0)} KiB)\n`);
}

export function buildLabPage(s: Scenario): string {
  const { name, description, seed, delays, hosts, steps } = s;
  return offlinePage({
    title: `cnmlab lab · ${name}`,
    css: ['viz.css', 'lab.css'],
    dataId: 'scenario',
    data: { file: path.basename(s.file), name, description, seed, delays, hosts, steps },
    bundle: 'lab.js',
    body: `<div id="lab">
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
`,
  });
}
