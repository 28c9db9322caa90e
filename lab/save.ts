/**
 * A lab session as a scenario file: the hosts, and every command typed, where it was typed,
 * with the expect of the scenario step it met. `cnmlab run` replays it to the same outputs.
 */
import { Document, isMap } from 'yaml';
import { parseCommandLine } from '../sim/commands/cmdline';
import { StepResult } from '../sim/runner/session';
import { Lab } from './shell';

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
  if (!r.interrupted || words?.[0] !== 'ping' || sent === undefined) return { command: r.command };
  const kept: string[] = [];
  for (let i = 1; i < words.length; i++) {
    if (words[i] === '-c') i++;
    else if (!words[i].startsWith('-c')) kept.push(words[i]);
  }
  return { command: ['ping', '-c', sent, ...kept].map(quote).join(' '), note: ` typed as '${r.command}', stopped with Ctrl-C after ${sent} probe(s)` };
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
