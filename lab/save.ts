/**
 * A lab session as a scenario file: the hosts, and every command typed, where it was typed,
 * with the expect of the scenario step it met. `cnmlab run` replays it to the same outputs.
 */
import { Document, isMap } from 'yaml';
import { parseCommandLine } from '../sim/commands/cmdline';
import { StepResult } from '../sim/runner/session';
import { Lab } from './shell';
import { RUN_FLAGS, runOptionTakesValue } from '../sim/docker/cli';
import { isInteractiveShell, mainArgv } from '../sim/model/main-process';
import { parseFlags, ParsedFlags } from '../sim/docker/argv';
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
  if (withoutStdin?.detached && !withoutStdin.tty) return { command: withoutStdin.words.map(quote).join(' '), note: ` typed as '${r.command}' at the lab's terminal, whose input kept its shell waiting; a file's input is closed, where the shell would exit at once: -di starts the same container detached, its input open, and prints its id` };
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
 * `docker run` with -i and without -d, as a file replays it, where it differs from what the
 * lab's terminal made of it; undefined for any other command line.
 *
 * With -t: Docker refuses -i with -t when its input is no terminal, and without -i it keeps the
 * client attached to the container's terminal until its main process ends. A command that runs
 * to its end keeps -t alone (-i dropped), but the image's own command or a shell would wait
 * forever on a terminal nobody types into, so that one is started detached (-dit).
 *
 * Without -t: the client copies its input to the container's, and a file's is closed, so a
 * shell (named, or the image's own) that the lab's input kept waiting reads end of file and
 * exits at once; it is started detached with its input open (-di). A command that runs to its
 * end does so either way and stays as typed.
 *
 * Started detached, the run prints its container's id where the lab printed nothing.
 */
function attachedRunWithoutStdin(words: string[]): { words: string[]; detached: boolean; tty: boolean } | undefined {
  if (words[0] !== 'docker' || words[1] !== 'run') return undefined;
  const parsed = runOptions(words.slice(2));
  if (!parsed?.bools.has('interactive') || parsed.bools.has('detach')) return undefined;
  const tty = parsed.bools.has('tty');
  // Docker's parser ends the options at the image, the first of its arguments.
  const imageAt = words.length - parsed.args.length;
  const options = words.slice(2, imageAt);
  const command = words.slice(imageAt + 1);
  if (!tty && !isInteractiveShell(mainArgv(words[imageAt], command))) return undefined;
  const detached = !tty || command.length === 0 || isInteractiveShell(command);
  // Detached, -i and -t leave wherever they were and -dit (-di) stands where the first of them was.
  const kept: string[] = [];
  let placed = !detached;
  for (let k = 0; k < options.length; k++) {
    const w = options[k];
    const [rest, valueFollows] = withoutStdinOption(w, detached);
    if (rest !== w && !placed) {
      kept.push(tty ? '-dit' : '-di');
      placed = true;
    }
    if (rest) kept.push(rest);
    if (valueFollows) kept.push(options[++k]);
  }
  return { words: [...words.slice(0, 2), ...kept, ...words.slice(imageAt)], detached, tty };
}

/**
 * One `docker run` option word without -i (and -t when `detached`), or '' when nothing is
 * left of it, and whether the next word is its value (--name x, -itp 8080:80), kept as typed.
 * A cluster's letters are flags up to the first that takes a value: the rest of the word is
 * that value (-e X=i), or it is the next word. An --interactive (or, detached, --tty) word
 * goes whatever its value (=true, =false): Docker found the flag set, so the line keeps -t or
 * gains -dit, and an =false left after -dit would unset it.
 */
function withoutStdinOption(w: string, detached: boolean): [string, boolean] {
  if (w.startsWith('--')) {
    const name = w.slice(2).split('=')[0];
    if (name === 'interactive' || (detached && name === 'tty')) return ['', false];
    return [w, !w.includes('=') && runOptionTakesValue(w)];
  }
  let flags = '-';
  for (let k = 1; k < w.length; k++) {
    if (runOptionTakesValue(`-${w[k]}`)) {
      const withValue = w.slice(k);
      return [flags + withValue, withValue.length === 1];
    }
    if (w[k] !== 'i' && !(detached && w[k] === 't')) flags += w[k];
  }
  return [flags === '-' ? '' : flags, false];
}

/** The words after `docker run` parsed as Docker parses them: the boolean flags set, the image and its command (args); undefined when Docker refuses them (the run failed as typed and replays so). */
function runOptions(words: string[]): ParsedFlags | undefined {
  try {
    return parseFlags('docker run', words, RUN_FLAGS, true);
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
