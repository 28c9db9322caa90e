/**
 * `cnmlab viz`: one self-contained HTML file — the d3 bundle and the CSS inline, the trace
 * embedded as JSON — that opens from file:// and fetches nothing.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Trace } from '../sim/trace/types';

/** The browser bundle and stylesheet, next to the CLI bundle (dist/) or built from the repo. */
function asset(name: string): string {
  const candidates = [path.join(__dirname, name), path.join(__dirname, '..', 'dist', name)];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`viz asset ${name} is missing; run npm run build`);
  return fs.readFileSync(found, 'utf8');
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function buildReport(trace: Trace): string {
  // JSON inside <script> must never close the element.
  const data = JSON.stringify(trace).replace(/</g, '\\u003c');
  const script = asset('viz.js').replace(/<\/script/gi, '<\\/script');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>cnmlab · ${escapeHtml(trace.scenario)} (${trace.mode})</title>
<style>${asset('viz.css')}</style>
</head>
<body>
<div id="app">
<header>
  <h1 id="title"></h1>
  <label>flow <select id="flow" aria-label="flow"></select></label>
  <label>direction <select id="direction" aria-label="direction"><option value="all">both</option><option value="request">request</option><option value="reply">reply</option></select></label>
  <button data-action="prev" aria-label="previous hop">◀ prev</button>
  <button data-action="play" aria-pressed="false">▶ play</button>
  <button data-action="next" aria-label="next hop">next ▶</button>
  <label>speed <select id="speed" aria-label="speed"><option value="1600">slow</option><option value="900" selected>normal</option><option value="350">fast</option></select></label>
  <span id="position" aria-live="polite"></span>
</header>
<main>
  <section id="topology-section"><h2>Topology</h2><div id="topology"></div></section>
  <section id="inspector-section"><h2>Layers</h2><div id="inspector"></div></section>
  <section id="cnm-section"><h2>CNM: sandboxes, endpoints, networks</h2><div id="cnm"></div></section>
  <section id="events-section"><h2>Events</h2><div id="events"></div></section>
</main>
</div>
<script id="trace" type="application/json">${data}</script>
<script>${script}</script>
</body>
</html>
`;
}
