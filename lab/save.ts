/**
 * A lab session as a scenario file: the hosts, and every command typed, where it was typed,
 * with the expect of the scenario step it met. `cnmlab run` replays it to the same outputs.
 */
import { Document, isMap } from 'yaml';
import { parseCommandLine } from '../sim/commands/cmdline';
import { StepResult } from '../sim/runner/session';
import { Lab } from './shell';
import { isInteractiveShell, RUN_FLAGS, runOptionTakesValue } from '../sim/docker/cli';
import { parseFlags } from '../sim/docker/argv';
import { DockerError } from '../sim/docker/errors';

/** Quotes a word for the shell words parser only when it needs it. */
function quote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./<>-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * A ping stopped by Ctrl-C replays as a ping of as many probes as it sent: a file cannot
 * press Ctrl-C, and `-c N` ends where the interrupted one did. Only a ping typed alone is
 * rewritten; a pipeline or list stopped by Ctrl-C is saved as typed.
 */
function replayable(r: StepResult): { command: string; note?: string } {
  const sent = /^(\d+) packets transmitted/m.exec(r.stdout)?.[1];
  const line = parseCommandLine(r.command);
  const words = line.ok && line.list.length === 1 && line.list[0].length === 1 ? line.list[0][0] : undefined;
  const withoutStdin = words && attachedRunWithoutStdin(words);
  if (withoutStdin?.detached) return { command: withoutStdin.words.map(quote).join(' '), note: ` typed as '${r.command}' at the lab's terminal; a file has none, and Docker refuses -i with -t without one: -dit starts the same container detached (its shell would wait on a terminal nobody types into) and prints its id` };
  if (withoutStdin) return { command: withoutStdin.words.map(quote).join(' '), note: ` typed as '${r.command}' at the lab's terminal; a file has none, and Docker refuses -i with -t without one: -t alone runs the same container to its end` };
  if (!r.interrupted || words?.[0] !== 'ping' || sent === undefined) return { command: r.command };
  const kept: string[] = [];
  for (let i = 1; i < words.length; i++) {
    if (words[i] === '-c') i++;
    else if (!words[i].startsWith('-c')) kept.push(words[i]);
  }
  return { command: ['ping', '-c', sent, ...kept].map(quote).join(' '), note: ` typed as '${r.command}', stopped with Ctrl-C after ${sent} probe(s)` };
}

/**
 * `docker run` with -i and -t and without -d, as a file replays it; undefined for any other
 * command line. Without -i, Docker keeps the client attached to the container's terminal until
 * its main process ends: a command that runs to its end keeps -t alone (-i dropped), but the
 * image's own command or a shell would wait forever on a terminal nobody types into, so that
 * one is started detached (-dit), and prints its container's id where the lab printed nothing.
 */
function attachedRunWithoutStdin(words: string[]): { words: string[]; detached: boolean } | undefined {
  if (words[0] !== 'docker' || words[1] !== 'run') return undefined;
  const options: string[] = [];
  let i = 2;
  for (; i < words.length && words[i].startsWith('-'); i++) {
    const w = words[i];
    options.push(w);
    // An option's value in the next word (--name x, -e X=1): not a flag cluster.
    if (!w.includes('=') && runOptionTakesValue(w)) options.push(words[++i] ?? '');
  }
  const flags = runFlags(options);
  if (!flags?.has('interactive') || !flags.has('tty') || flags.has('detach')) return undefined;
  const command = words.slice(i + 1);
  const detached = command.length === 0 || isInteractiveShell(command);
  // Detached, -i and -t leave wherever they were and -dit stands where the first of them was.
  const dropped = detached ? /[it]/g : /i/g;
  const kept: string[] = [];
  let placed = !detached;
  for (const w of options) {
    const cluster = /^-[a-zA-Z]+$/.test(w) && !runOptionTakesValue(w);
    const rest = w === '--interactive' || (detached && w === '--tty') ? '' : cluster ? w.replace(dropped, '').replace(/^-$/, '') : w;
    if (rest !== w && !placed) {
      kept.push('-dit');
      placed = true;
    }
    if (rest) kept.push(rest);
  }
  return { words: [...words.slice(0, 2), ...kept, ...words.slice(i)], detached };
}

/** The boolean flags set among a `docker run`'s option words, parsed as Docker parses them; undefined when Docker refuses them (the run failed as typed and replays so). */
function runFlags(options: string[]): ReadonlySet<string> | undefined {
  try {
    return parseFlags('docker run', options, RUN_FLAGS).bools;
  } catch (e) {
    if (e instanceof DockerError) return undefined;
    throw e;
  }
}

export function sessionScenario(lab: Lab): string {
  const s = lab.scenario;
  const steps = lab.session.steps.map((r) => {
    const { command } = replayable(r);
    const met = lab.matched.get(r.index);
    return { [r.on]: command, ...(met?.timeout !== undefined ? { timeout: met.timeout } : {}), ...(met?.expect ? { expect: met.expect } : {}) };
  });
  const doc = new Document({
    name: s.name,
    ...(s.description ? { description: s.description } : {}),
    ...(s.seed !== undefined ? { seed: s.seed } : {}),
    ...(s.delays ? { delays: s.delays } : {}),
    ...(s.timeout !== undefined ? { timeout: s.timeout } : {}),
    hosts: Object.fromEntries(s.hosts.map((h) => [h.name, { underlay: h.underlay }])),
    steps,
  });
  doc.commentBefore = ` A cnmlab lab session; replay it with: cnmlab run FILE`;
  lab.session.steps.forEach((r, i) => {
    const note = replayable(r).note ?? lab.notes.get(r.index);
    const node = doc.getIn(['steps', i], true);
    if (note && isMap(node)) node.commentBefore = note;
  });
  return doc.toString({ lineWidth: 0 });
}
