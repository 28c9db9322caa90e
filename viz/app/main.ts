/** The report's entry point: reads the embedded trace and wires views, controls and keys. */
import 'd3-transition';
import { select } from 'd3-selection';
import type { Trace } from '../../sim/trace/types';
import type { CompareBundle } from '../../sim/compare/table';
import { topologyDuring } from '../../sim/trace/lifetimes';
import { explainHop, NameOf } from './explain';
import { flowHops, flowLabel, markCurrent, renderCnm, renderControl, renderEvents, renderInspector, renderLegend, renderTopology, showHop, TopologyView } from './views';

export interface StartOptions {
  /** The flow shown first (by index). */
  flow?: number;
}

/**
 * Draws the report of a trace into the page's #app and wires its controls; returns what
 * stops it (its keys, its timer, its resize watch), so a page that draws a newer trace (the
 * browser lab, after each command) stops the older report first.
 */
export function start(doc: Document, trace: Trace, opts: StartOptions = {}): () => void {
  const win = doc.defaultView;
  const app = select(doc.getElementById('app') as HTMLElement);
  // The commands' flows, then dockerd's own traffic (listed apart, never the one shown first).
  const control = trace.control ?? [];
  const flows = [...trace.flows, ...control];
  const state = { flow: Math.max(0, Math.min(opts.flow ?? 0, trace.flows.length - 1)), dir: 'all', index: 0, playing: false, speedMs: 900, timer: undefined as ReturnType<typeof setInterval> | undefined };
  const reducedMotion = () => !!win?.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
  app.select('#title').text(`${trace.scenario} · ${trace.mode}`);
  const flowSelect = app.select<HTMLSelectElement>('#flow');
  flowSelect.selectAll('*').remove();
  if (control.length === 0) flowSelect.selectAll('option').data(trace.flows).join('option').attr('value', (_, i) => i).text(flowLabel);
  else {
    flowSelect.append('optgroup').attr('label', 'flows').selectAll('option').data(trace.flows).join('option').attr('value', (_, i) => i).text(flowLabel);
    flowSelect.append('optgroup').attr('label', "control plane: dockerd's own traffic").attr('data-control', '').selectAll('option').data(control).join('option').attr('value', (_, i) => trace.flows.length + i).text(flowLabel);
  }
  const notKept = trace.controlNotKept ?? [];
  app.select('#control-section').attr('hidden', control.length || notKept.length ? null : '');
  renderControl(app.select('#control'), control, notKept);
  flowSelect.property('value', String(state.flow));
  renderLegend(app.select('#legend'));
  let view: TopologyView;
  let nameOf: NameOf = () => undefined;
  const hops = () => flowHops(flows[state.flow], state.dir);
  const show = (animate: boolean) => {
    const list = hops();
    state.index = Math.max(0, Math.min(state.index, list.length - 1));
    const hop = list[state.index];
    markCurrent(app.select('#events'), state.index);
    renderInspector(app.select('#inspector'), hop);
    showHop(app.select('#topology'), view, list, state.index, animate && !reducedMotion());
    // Hops outside the eight steps (a local bridge, the underlay's ARP) carry no step number.
    app.select('#explain').text(hop ? `${hop.step === undefined ? '' : `Step ${hop.step}: `}${explainHop(hop, nameOf)}` : 'This flow has no hops.');
    app.select('#position').text(list.length ? `hop ${state.index + 1} of ${list.length}` : 'no hops');
  };
  /** The lab as the selected flow's step saw it: a container removed later is still drawn. */
  const drawTopology = () => {
    const t = topologyDuring(trace.topology, flows[state.flow]?.origin?.step);
    view = renderTopology(app.select('#topology'), t, trace.scenario, reducedMotion);
    nameOf = (host, netns) => t.namespaces.find((n) => n.host === host && n.name === netns)?.container;
    renderCnm(app.select('#cnm'), t);
    view.fit();
  };
  const rebuild = () => {
    renderEvents(app.select('#events'), hops(), state.index, (i) => {
      state.index = i;
      show(true);
    });
    show(false);
  };
  const go = (index: number) => {
    state.index = index;
    show(true);
  };
  const setPlaying = (on: boolean) => {
    state.playing = on;
    clearInterval(state.timer);
    app.select('[data-action="play"]').text(on ? '❚❚ pause' : '▶ play').attr('aria-pressed', String(on));
    if (on) {
      state.timer = setInterval(() => {
        if (state.index >= hops().length - 1) return setPlaying(false);
        go(state.index + 1);
      }, state.speedMs);
    }
  };
  app.select('[data-action="prev"]').on('click', () => go(state.index - 1));
  app.select('[data-action="next"]').on('click', () => go(state.index + 1));
  app.select('[data-action="play"]').on('click', () => setPlaying(!state.playing));
  app.select('[data-action="fit"]').on('click', () => {
    view.fit();
    show(false);
  });
  app.select<HTMLSelectElement>('#speed').on('change', function () {
    state.speedMs = Number(this.value);
    if (state.playing) setPlaying(true);
  });
  flowSelect.on('change', function () {
    state.flow = Number(this.value);
    state.index = 0;
    drawTopology();
    rebuild();
  });
  app.select<HTMLSelectElement>('#direction').on('change', function () {
    state.dir = this.value;
    state.index = 0;
    rebuild();
  });
  const onKey = (e: KeyboardEvent) => {
    const target = e.target as HTMLElement | null;
    // Selects keep their arrows, text fields (a lab's terminals) every key; a focused button keeps Space and Enter.
    if (target?.tagName === 'SELECT' || target?.tagName === 'INPUT' || target?.tagName === 'TEXTAREA' || (target?.tagName === 'BUTTON' && (e.key === ' ' || e.key === 'Enter'))) return;
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') go(state.index + 1);
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') go(state.index - 1);
    else if (e.key === 'Home') go(0);
    else if (e.key === 'End') go(hops().length - 1);
    else if (e.key === ' ') setPlaying(!state.playing);
    else return;
    e.preventDefault();
  };
  doc.addEventListener('keydown', onKey);
  drawTopology();
  rebuild();
  // Fit on resize, then bring the packet back into view.
  const resized = win && 'ResizeObserver' in win ? new win.ResizeObserver(() => {
    view.fit();
    show(false);
  }) : undefined;
  resized?.observe(doc.getElementById('topology') as HTMLElement);
  doc.body.setAttribute('data-ready', 'true');
  return () => {
    doc.removeEventListener('keydown', onKey);
    resized?.disconnect();
    clearInterval(state.timer);
  };
}

/**
 * A comparison's report: a tab per driver, each drawing that driver's trace in the same
 * panels (the topology laid out the same way, hosts left to right) and opening on its ping.
 */
export function startCompare(doc: Document, bundle: CompareBundle): void {
  const tabs = select(doc.getElementById('tabs') as HTMLElement);
  let stop: (() => void) | undefined;
  const open = (i: number) => {
    stop?.();
    const run = bundle.runs[i];
    const flow = run.flow ? run.trace.flows.findIndex((f) => f.id === run.flow) : -1;
    tabs.selectAll<HTMLButtonElement, unknown>('button').attr('aria-selected', (_, j) => String(j === i)).classed('active', (_, j) => j === i);
    stop = start(doc, run.trace, { flow: Math.max(0, flow) });
    select(doc.getElementById('title') as HTMLElement).text(`${run.driver}: ${run.title}${run.ok ? '' : ' (its ping failed)'} · ${bundle.mode}`);
  };
  tabs.selectAll('button').data(bundle.runs).join('button').attr('role', 'tab').attr('data-driver', (r) => r.driver).text((r) => r.driver)
    .on('click', (_e, r) => open(bundle.runs.indexOf(r)));
  open(0);
}

const embedded = typeof document !== 'undefined' ? document.getElementById('trace') : null;
if (embedded) {
  const doc = JSON.parse(embedded.textContent ?? '{}') as Trace | CompareBundle;
  if ('runs' in doc) startCompare(document, doc);
  else start(document, doc);
}
