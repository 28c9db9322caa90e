/**
 * `cnmlab lab`: a scenario's hosts as an interactive shell (lab/shell.ts) at this terminal,
 * with readline's line editing, history and completion. Every command is a step of the same
 * session `cnmlab run` drives; `:save` writes them as a scenario that replays them.
 */
import * as fs from 'fs';
import * as readline from 'readline';
import { Backend, LiveIo } from '../../sim/backend';
import { loadScenario } from '../../sim/scenario/load';
import { Scenario } from '../../sim/scenario/schema';
import { InputError } from '../../sim/errors';
import { buildReport } from '../../viz/report';
import { Lab, stepText, Terminal } from '../../lab/shell';
import { complete } from '../../lab/complete';
import { sharedLabCommand, unknownLabCommand } from '../../lab/commands';
import { sessionScenario } from '../../lab/save';
import { makeBackend } from './run';
import { writeLabPage } from './lab-web';

export interface LabOptions {
  mode: 'sim' | 'emu';
  preload?: string;
  web?: boolean;
  output?: string;
}

/** Without a file: the seed's two hosts, nothing run yet. */
export const DEFAULT_LAB: Scenario = {
  file: '(built-in lab)',
  name: 'lab',
  description: 'Two Docker hosts, r0 and r1, on one underlay: make them a swarm, create an overlay, run a container on each and ping.',
  hosts: [{ name: 'r0', underlay: '198.51.100.10' }, { name: 'r1', underlay: '198.51.100.11' }],
  steps: [],
};

export async function labCommand(file: string | undefined, opts: LabOptions): Promise<number> {
  if (opts.mode !== 'sim' && opts.mode !== 'emu') throw new InputError(`--mode: expected sim or emu, got ${opts.mode}`);
  const s = file ? loadScenario(file) : DEFAULT_LAB;
  if (opts.web) {
    if (opts.mode === 'emu') throw new InputError('--web: the browser lab runs the sim; --mode emu needs this machine (run cnmlab lab --mode emu)');
    if (opts.preload !== undefined) throw new InputError('--web: --preload is for the terminal lab; the page starts from the scenario\'s first step');
    writeLabPage(s, opts.output ?? 'lab.html');
    return 0;
  }
  const preload = opts.preload === undefined ? 0 : Number(opts.preload);
  if (!Number.isInteger(preload) || preload < 0 || preload > s.steps.length) throw new InputError(`--preload: expected a number of steps from 0 to ${s.steps.length}, got ${opts.preload}`);
  const out = process.stdout;
  let backend: Backend = await makeBackend(opts.mode, s, { quiet: true });
  /** A fresh lab with the preloaded steps run, printed as the student would have typed them. */
  const start = async (): Promise<Lab> => {
    const fresh = await Lab.open(s, backend);
    for (const step of s.steps.slice(0, preload)) {
      out.write(`${fresh.prompt(step.on)}${step.command}\n`);
      const r = await fresh.session.step(step.on, step.command, { expect: step.expect, line: step.line, timeout: step.timeout });
      fresh.matched.set(r.index, step);
      if (r.ok) fresh.met.add(step.index);
      out.write(stepText(r, { stdout: 0, stderr: 0 }));
    }
    return fresh;
  };
  try {
    let lab = await start();
    let term: Terminal = lab.terminal();
    if (process.stdin.isTTY) out.write(`cnmlab lab: ${s.name} (${backend.mode}); :help for help, Ctrl-D to leave\n`);
    const rl = readline.createInterface({ input: process.stdin, output: out, terminal: !!process.stdin.isTTY, historySize: 1000, completer: (line: string) => complete(term, line) });
    let running: AbortController | undefined;
    rl.on('SIGINT', () => {
      if (running) {
        out.write('^C');
        running.abort();
        return;
      }
      // As bash: the line is dropped and a new prompt comes. Ctrl-U then empties readline's
      // line and draws it again, prompt first, on the line after the ^C.
      out.write('^C\n');
      rl.write(null, { ctrl: true, name: 'u' });
    });
    const prompt = () => {
      rl.setPrompt(term.prompt());
      rl.prompt();
    };
    prompt();
    for await (const text of rl) {
      const line = text.trim();
      if (line.startsWith(':')) {
        const [cmd, ...args] = line.split(/\s+/);
        const shared = sharedLabCommand(term, [cmd, ...args], 'terminal');
        if (shared !== undefined) out.write(shared);
        else if (cmd === ':viz') {
          const target = args[0] ?? 'lab-report.html';
          const trace = JSON.parse(JSON.stringify(lab.session.trace()));
          written(target, () => fs.writeFileSync(target, buildReport(trace)), `${trace.flows.length} flow(s)`);
        } else if (cmd === ':save') {
          if (args.length !== 1) out.write(':save: expected a file name\n');
          else if (lab.session.steps.length === 0) out.write(':save: nothing typed yet (a scenario needs at least one step)\n');
          else written(args[0], () => fs.writeFileSync(args[0], sessionScenario(lab)), `${lab.session.steps.length} step(s)`);
        } else if (cmd === ':reset') {
          await backend.close();
          backend = await makeBackend(opts.mode, s, { quiet: true });
          lab = await start();
          term = lab.terminal();
          out.write(`${s.name}: started again\n`);
        } else out.write(unknownLabCommand(cmd));
        prompt();
        continue;
      }
      running = new AbortController();
      const streamed = { stdout: 0, stderr: 0 };
      const live: LiveIo = {
        write(stream, chunk) {
          streamed[stream] += chunk.length;
          out.write(chunk);
        },
        interrupt: running.signal,
      };
      const r = await term.line(text, live);
      running = undefined;
      if (r.kind === 'leave') break;
      if (r.kind === 'moved') out.write(r.output);
      if (r.kind === 'step') out.write(stepText(r.result, streamed));
      // `help` is no command of a host; the lab's own begin with a colon.
      if (r.kind === 'step' && r.result.unmodelled === 'help') out.write('cnmlab lab: its own commands begin with a colon: :help lists them\n');
      prompt();
    }
    rl.close();
    if (process.stdin.isTTY) out.write('\n');
  } finally {
    await backend.close();
  }
  return 0;

  function written(target: string, write: () => void, what: string): void {
    try {
      write();
      out.write(`wrote ${target} (${what})\n`);
    } catch (e) {
      out.write(`${target}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (e as Error).message}\n`);
    }
  }
}
