/**
 * `cnmlab viz`: one self-contained HTML file — the d3 bundle and the CSS inline, the trace
 * embedded as JSON — that opens from file:// and fetches nothing.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Trace } from '../sim/trace/types';
import type { CompareBundle } from '../sim/compare/table';

/** A browser bundle or stylesheet, next to the CLI bundle (dist/) or built from the repo. */
export function asset(name: string): string {
  const candidates = [path.join(__dirname, name), path.join(__dirname, '..', 'dist', name)];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`asset ${name} is missing; run npm run build`);
  return fs.readFileSync(found, 'utf8');
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * One self-contained page (the report, the browser lab): its styles and script inline, its
 * data as JSON in `<script id=dataId>`, and a policy that lets it load nothing.
 */
export function offlinePage(p: { title: string; css: string[]; body: string; dataId: string; data: unknown; bundle: string }): string {
  // JSON inside <script> must never close the element.
  const data = JSON.stringify(p.data).replace(/</g, '\\u003c');
  const script = asset(p.bundle).replace(/<\/script/gi, '<\\/script');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(p.title)}</title>
<style>${p.css.map(asset).join('\n')}</style>
</head>
<body>
${p.body}<script id="${p.dataId}" type="application/json">${data}</script>
<script>${script}</script>
</body>
</html>
`;
}

/** The report's panels and controls, which viz/app/main.ts draws into (the browser lab holds them too). */
export function reportApp(): string {
  return `<div id="app">
<header>
  <h1 id="title"></h1>
  <label>flow <select id="flow"></select></label>
  <label>direction <select id="direction"><option value="all">both</option><option value="request">request</option><option value="reply">reply</option></select></label>
  <span class="controls" role="group" aria-label="step through the hops">
    <button data-action="prev" aria-label="previous hop" aria-keyshortcuts="ArrowLeft">◀ prev</button>
    <button data-action="play" aria-pressed="false" aria-label="play" aria-keyshortcuts="Space">▶ play</button>
    <button data-action="next" aria-label="next hop" aria-keyshortcuts="ArrowRight">next ▶</button>
  </span>
  <label>speed <select id="speed"><option value="1600">slow</option><option value="900" selected>normal</option><option value="350">fast</option></select></label>
  <span id="position" aria-live="polite"></span>
  <span class="keys">keys: ← → step · space play · Home/End</span>
</header>
<main>
  <section id="topology-section" aria-labelledby="topology-h">
    <h2 id="topology-h">Topology <button data-action="fit" aria-label="fit the topology to its panel">fit</button><span class="hint">drag to pan, wheel to zoom</span></h2>
    <div id="topology"></div>
    <p id="explain" aria-live="polite"></p>
  </section>
  <section id="inspector-section" aria-labelledby="inspector-h"><h2 id="inspector-h">Layers</h2><div id="inspector"></div></section>
  <section id="legend-section" aria-labelledby="legend-h"><h2 id="legend-h">Legend</h2><div id="legend"></div></section>
  <section id="events-section" aria-labelledby="events-h"><h2 id="events-h">Hops</h2><div id="events"></div></section>
  <section id="cnm-section" aria-labelledby="cnm-h"><h2 id="cnm-h">CNM: sandboxes, endpoints, networks</h2><div id="cnm"></div></section>
  <section id="control-section" aria-labelledby="control-h" hidden><h2 id="control-h">Control plane on the wire: dockerd's own traffic</h2><div id="control"></div></section>
</main>
</div>
`;
}

/** The report of one trace, or of a comparison: one tab per driver above the same panels. */
export function buildReport(input: Trace | CompareBundle): string {
  const compare = 'runs' in input;
  const title = compare ? `compare ${input.runs.map((r) => r.driver).join(', ')} (${input.mode})` : `${input.scenario} (${input.mode})`;
  const body = `${compare ? '<nav id="tabs" role="tablist" aria-label="drivers"></nav>\n' : ''}${reportApp()}`;
  return offlinePage({ title: `cnmlab · ${title}`, css: ['viz.css'], body, dataId: 'trace', data: input, bundle: 'viz.js' });
}
