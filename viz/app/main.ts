/** The report's entry point: reads the embedded trace and wires views, controls and keys. */
import 'd3-transition';
import { select } from 'd3-selection';
import type { Trace } from '../../sim/trace/types';
import { flowHops, markCurrent, renderCnm, renderEvents, renderInspector, renderTopology, showHop } from './views';

export function start(doc: Document, trace: Trace): void {
  const app = select(doc.getElementById('app') as HTMLElement);
  const state = { flow: 0, dir: 'all', index: 0, playing: false, speedMs: 900, timer: 0 as unknown as ReturnType<typeof setInterval> };
  app.select('#title').text(`${trace.scenario} · ${trace.mode}`);
  const flowSelect = app.select<HTMLSelectElement>('#flow');
  flowSelect.selectAll('option').data(trace.flows).join('option').attr('value', (_, i) => i).text((f) => `${f.id}: ${f.kind} ${f.from} → ${f.to}`);
  const layout = renderTopology(app.select('#topology'), trace);
  renderCnm(app.select('#cnm'), trace);
  const hops = () => flowHops(trace.flows[state.flow], state.dir);
  const show = (animate: boolean) => {
    const list = hops();
    state.index = Math.max(0, Math.min(state.index, list.length - 1));
    markCurrent(app.select('#events'), state.index);
    renderInspector(app.select('#inspector'), list[state.index]);
    showHop(app.select('#topology'), layout, list, state.index, animate);
    app.select('#position').text(list.length ? `hop ${state.index + 1} of ${list.length}` : 'no hops');
  };
  const rebuild = () => {
    renderEvents(app.select('#events'), hops(), state.index, (i) => {
      state.index = i;
      show(true);
    });
    show(false);
  };
  const step = (d: number) => {
    state.index += d;
    show(true);
  };
  const setPlaying = (on: boolean) => {
    state.playing = on;
    clearInterval(state.timer);
    app.select('[data-action="play"]').text(on ? '❚❚ pause' : '▶ play').attr('aria-pressed', String(on));
    if (on) {
      state.timer = setInterval(() => {
        if (state.index >= hops().length - 1) return setPlaying(false);
        step(1);
      }, state.speedMs);
    }
  };
  app.select('[data-action="prev"]').on('click', () => step(-1));
  app.select('[data-action="next"]').on('click', () => step(1));
  app.select('[data-action="play"]').on('click', () => setPlaying(!state.playing));
  app.select<HTMLSelectElement>('#speed').on('change', function () {
    state.speedMs = Number(this.value);
    if (state.playing) setPlaying(true);
  });
  flowSelect.on('change', function () {
    state.flow = Number(this.value);
    state.index = 0;
    rebuild();
  });
  app.select<HTMLSelectElement>('#direction').on('change', function () {
    state.dir = this.value;
    state.index = 0;
    rebuild();
  });
  doc.addEventListener('keydown', (e) => {
    if ((e.target as HTMLElement)?.tagName === 'SELECT') return;
    if (e.key === 'ArrowRight') step(1);
    else if (e.key === 'ArrowLeft') step(-1);
    else if (e.key === ' ') {
      e.preventDefault();
      setPlaying(!state.playing);
    } else return;
  });
  rebuild();
  doc.body.setAttribute('data-ready', 'true');
}

const embedded = typeof document !== 'undefined' ? document.getElementById('trace') : null;
if (embedded) start(document, JSON.parse(embedded.textContent ?? '{}'));
