/**
 * The browser lab: the scenario baked into the page, the whole sim running in it (the same
 * model, kernel, programs and trace code `cnmlab run` uses), a terminal per host and
 * container, the lab's checklist, and the report's views of the world and of each ping.
 */
import { select } from 'd3-selection';
// The drivers that register themselves, each in every layer, before the lab runs anything.
import '../../sim/drivers';
import { SimBackend } from '../../sim/kernel/backend';
import type { Scenario } from '../../sim/scenario/schema';
import type { Trace } from '../../sim/trace/types';
import { start } from '../../viz/app/main';
import { Lab, stepText, Terminal } from '../shell';
import { complete } from '../complete';
import { sharedLabCommand, unknownLabCommand } from '../commands';
import { sessionScenario } from '../save';

const byId = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/** One terminal on the page: what it printed, and a line to type into. */
class TermView {
  readonly root: HTMLElement;
  private readonly out: HTMLPreElement;
  private readonly input: HTMLInputElement;
  private readonly promptEl: HTMLSpanElement;
  private readonly history: string[] = [];
  private historyAt = 0;
  private running?: AbortController;
  /** Lines run so far (the page's tests wait on it). */
  private ran = 0;

  constructor(
    readonly name: string,
    readonly term: Terminal,
    private readonly page: LabPage,
  ) {
    this.root = document.createElement('div');
    this.root.className = 'term';
    this.root.dataset.terminal = name;
    this.out = document.createElement('pre');
    this.out.className = 'screen';
    const line = document.createElement('label');
    line.className = 'line';
    this.promptEl = document.createElement('span');
    this.promptEl.className = 'prompt';
    this.input = document.createElement('input');
    this.input.className = 'typed';
    this.input.setAttribute('aria-label', `command on ${name}`);
    this.input.autocomplete = 'off';
    this.input.spellcheck = false;
    line.append(this.promptEl, this.input);
    this.root.append(this.out, line);
    this.root.addEventListener('click', () => this.focus());
    this.input.addEventListener('keydown', (e) => this.key(e));
    this.showPrompt();
  }

  focus(): void {
    this.input.focus();
  }

  print(text: string): void {
    this.out.append(document.createTextNode(text));
    this.root.scrollTop = this.root.scrollHeight;
  }

  private showPrompt(): void {
    this.promptEl.textContent = this.term.prompt();
  }

  private key(e: KeyboardEvent): void {
    if (e.ctrlKey && e.key === 'c') {
      e.preventDefault();
      if (this.running) {
        this.print('^C');
        this.running.abort();
      } else {
        this.print(`${this.term.prompt()}${this.input.value}^C\n`);
        this.input.value = '';
      }
      return;
    }
    if (this.running) {
      e.preventDefault();
      return;
    }
    if (e.key === 'Enter') {
      e.preventDefault();
      const text = this.input.value;
      this.input.value = '';
      if (text.trim()) this.history.push(text);
      this.historyAt = this.history.length;
      void this.page.serial(() => this.run(text));
    } else if (e.key === 'Tab') {
      e.preventDefault();
      const [hits, word] = complete(this.term, this.input.value);
      if (hits.length === 1) this.input.value = this.input.value.slice(0, this.input.value.length - word.length) + hits[0];
      else if (hits.length > 1) {
        const common = hits.reduce((a, b) => { let i = 0; while (i < a.length && a[i] === b[i]) i++; return a.slice(0, i); });
        if (common.length > word.length) this.input.value = this.input.value.slice(0, this.input.value.length - word.length) + common;
        else this.print(`${this.term.prompt()}${this.input.value}\n${hits.join('  ')}\n`);
      }
    } else if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
      e.preventDefault();
      this.historyAt = Math.max(0, Math.min(this.history.length, this.historyAt + (e.key === 'ArrowUp' ? -1 : 1)));
      this.input.value = this.history[this.historyAt] ?? '';
    } else if (e.ctrlKey && e.key === 'l') {
      e.preventDefault();
      this.out.textContent = '';
    }
  }

  /** Runs a typed line in this terminal, its output shown as it comes. */
  async run(text: string): Promise<void> {
    this.print(`${this.term.prompt()}${text}\n`);
    if (text.trim().startsWith(':')) {
      // The terminal lab's own commands (Tab offers them here too): the page's answer to each.
      this.print(this.labCommand(text.trim().split(/\s+/)));
      this.showPrompt();
      this.root.dataset.ran = String(++this.ran);
      return;
    }
    this.root.classList.add('busy');
    const running = (this.running = new AbortController());
    const streamed = { stdout: 0, stderr: 0 };
    const t0 = performance.now();
    const r = await this.term.line(text, {
      write: (stream, chunk) => {
        streamed[stream] += chunk.length;
        this.print(chunk);
      },
      interrupt: running.signal,
    });
    this.running = undefined;
    this.root.classList.remove('busy');
    if (r.kind === 'moved') this.print(r.output);
    else if (r.kind === 'leave') this.print('(the first host of a terminal stays open)\n');
    else if (r.kind === 'step') {
      this.print(stepText(r.result, streamed));
      this.root.dataset.lastMs = String(Math.round(performance.now() - t0));
    }
    this.showPrompt();
    this.page.changed(r.kind === 'step' ? r.result.flows : []);
    this.root.dataset.ran = String(++this.ran);
  }

  private labCommand(words: string[]): string {
    const shared = sharedLabCommand(this.term, words, 'web');
    if (shared !== undefined) return shared;
    const [cmd] = words;
    switch (cmd) {
      case ':save':
        return ':save: in the page, the button "session as a scenario (.yaml)" on the left downloads the session\n';
      case ':viz':
        return ':viz: in the page, the walk of each ping is drawn below the terminals; "trace (.json)" downloads it for cnmlab viz\n';
      case ':reset':
        return ':reset: in the page, reload it to start the lab again\n';
      default:
        return unknownLabCommand(cmd);
    }
  }
}

class LabPage {
  private readonly views = new Map<string, TermView>();
  private queue: Promise<void> = Promise.resolve();
  /** Stops the report drawn for the last trace before the next is drawn. */
  private stopReport?: () => void;

  constructor(
    readonly scenario: Scenario,
    readonly lab: Lab,
    readonly backend: SimBackend,
  ) {
    byId('lab-title').textContent = scenario.name;
    byId('lab-description').textContent = scenario.description ?? '';
    const list = byId('checklist');
    for (const s of scenario.steps) {
      const li = document.createElement('li');
      li.dataset.step = String(s.index);
      const on = document.createElement('span');
      on.className = 'on';
      on.textContent = s.on;
      const code = document.createElement('code');
      code.textContent = s.command;
      li.append(on, ' ', code);
      list.append(li);
    }
    for (const h of scenario.hosts) this.open(h.name, this.lab.terminal({ host: h.name }));
    this.select(scenario.hosts[0].name);
    byId('downloads').addEventListener('click', (e) => {
      const what = (e.target as HTMLElement).dataset.download;
      if (what) this.download(what);
    });
    this.changed([]);
  }

  /** One command at a time over the one world, whichever terminal typed it. */
  serial(run: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(run, run);
    return this.queue;
  }

  private open(name: string, term: Terminal): void {
    const view = new TermView(name, term, this);
    this.views.set(name, view);
    byId('screens').append(view.root);
    const tab = document.createElement('button');
    tab.className = 'tab';
    tab.dataset.tab = name;
    tab.textContent = name;
    tab.addEventListener('click', () => this.select(name));
    byId('tabs').append(tab);
  }

  select(name: string): void {
    for (const [n, v] of this.views) v.root.hidden = n !== name;
    for (const t of byId('tabs').querySelectorAll<HTMLElement>('.tab')) t.setAttribute('aria-selected', String(t.dataset.tab === name));
    this.views.get(name)?.focus();
  }

  /** After a command: new containers get a terminal, the checklist and the views catch up. */
  changed(flows: string[]): void {
    for (const host of this.lab.session.model.world.hostOrder) {
      for (const c of this.lab.containersOn(host)) if (!this.views.has(c)) this.open(c, this.lab.terminal({ host, container: c }));
    }
    for (const li of byId('checklist').querySelectorAll<HTMLElement>('li')) li.classList.toggle('met', this.lab.met.has(Number(li.dataset.step)));
    const trace = this.trace();
    // The report of the world as it is now; after a ping, its walk shows that ping.
    const ping = [...flows].reverse().find((id) => trace.flows.find((f) => f.id === id)?.kind === 'icmp-echo');
    const shown = ping ? trace.flows.findIndex((f) => f.id === ping) : Math.max(0, trace.flows.length - 1);
    this.stopReport?.();
    this.stopReport = start(document, trace, { flow: shown });
    const points = [...(this.backend.datapath.pcaps?.keys() ?? [])].sort();
    select(byId('pcap-point')).selectAll('option').data(points).join('option').attr('value', (p) => p).text((p) => p);
  }

  private trace(): Trace {
    return JSON.parse(JSON.stringify(this.lab.session.trace())) as Trace;
  }

  private download(what: string): void {
    const name = this.scenario.name;
    if (what === 'scenario') {
      if (!this.lab.session.steps.length) return;
      save(`${name}-session.yaml`, new Blob([sessionScenario(this.lab)], { type: 'text/yaml' }));
    } else if (what === 'trace') save(`${name}.trace.json`, new Blob([JSON.stringify(this.trace(), null, 2) + '\n'], { type: 'application/json' }));
    else if (what === 'pcap') {
      const point = byId<HTMLSelectElement>('pcap-point').value;
      const w = this.backend.datapath.pcaps?.get(point);
      if (w) save(`${point}.pcap`, new Blob([new Uint8Array(w.toBuffer())], { type: 'application/vnd.tcpdump.pcap' }));
    }
  }
}

function save(file: string, blob: Blob): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = file;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

async function boot(): Promise<void> {
  const s = JSON.parse(byId('scenario').textContent ?? '{}') as Scenario;
  const backend = SimBackend.forScenario(s);
  backend.datapath.pcaps = new Map();
  const lab = await Lab.open(s, backend);
  new LabPage(s, lab, backend);
  document.body.dataset.labReady = String(Math.round(performance.now()));
}

void boot();
