/**
 * The lab's own commands (a colon first) that the terminal lab and the browser page answer
 * alike: :help, :path and :on. Each surface answers :save, :viz and :reset itself (a file
 * written here, a button there). Nothing here touches Node: the page bundles it.
 */
import { Flow, Hop } from '../sim/trace/types';
import { hopDevices, pathTable } from '../sim/trace/table';
import { ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST } from '../sim/wire/icmp';
import { Lab, Terminal } from './shell';

/** Where the lab runs: `cnmlab lab` at a terminal, or the page `cnmlab lab --web` writes. */
export type LabSurface = 'terminal' | 'web';

const HELP_HEAD = `Type commands as on the hosts: docker …, ip …, bridge …, ping …
  docker exec -it NAME sh   enter a container (exit leaves it)
  docker run -it IMAGE [sh] start a container and enter its shell (exit leaves and stops it)
  ssh HOST, :on HOST        go to another host
`;

const HELP: Record<LabSurface, string> = {
  terminal: `${HELP_HEAD}  :path                     the last ping's path, step by step
  :viz [FILE]               write the report of the session so far (default lab-report.html)
  :save FILE                write the session as a scenario (cnmlab run FILE replays it)
  :reset                    start the lab again from nothing
  :help                     this text
Ctrl-C stops a running command, Ctrl-D leaves the lab.
`,
  web: `${HELP_HEAD}  :path                     the last ping's path, step by step (drawn below, too)
  the tabs above            a terminal per host, and one per container once it runs
  the buttons on the left   download the session as a scenario, the trace, a capture
Tab completes, ↑ ↓ recall, Ctrl-C stops a running command, Ctrl-L clears.
`,
};

/**
 * The answer to a lab command both surfaces share, or undefined for one the surface answers
 * itself. `words`: the typed line split on blanks, the command first.
 */
export function sharedLabCommand(term: Terminal, words: string[], surface: LabSurface): string | undefined {
  const [cmd, ...args] = words;
  switch (cmd) {
    case ':help':
      return HELP[surface];
    case ':path':
      return lastPingPath(term.lab);
    case ':on':
      return args.length === 1 && term.switchTo(args[0]) ? '' : `:on: expected one of ${term.lab.scenario.hosts.map((h) => h.name).join(', ')}\n`;
    default:
      return undefined;
  }
}

export function unknownLabCommand(cmd: string): string {
  return `${cmd}: unknown lab command (:help lists them)\n`;
}

/**
 * :path: the last ping's path table, as `cnmlab run` prints it. A ping that did not reach
 * its destination says so first, in one line, with where it was last seen (its drop, and
 * why, when it was dropped); one of which no packet was seen has no table.
 */
export function lastPingPath(lab: Lab): string {
  const flow = [...lab.session.backend.flows()].reverse().find((f) => f.kind === 'icmp-echo');
  if (!flow) return 'no ping yet\n';
  if (reachedDestination(flow)) return pathTable(flow);
  const ping = `${flow.id} (${flow.from} → ${flow.to}${flow.origin ? `, step ${flow.origin.step}` : ''})`;
  const requests = flow.hops.filter((h) => h.dir === 'request');
  if (requests.length === 0) return `${ping} did not reach ${flow.to}: no packet of it was seen (the command's own output says why)\n`;
  const drop = requests.find((h) => h.event === 'drop');
  const stopped = drop ? `dropped at ${where(drop)}: ${drop.reason ?? 'no reason given'}` : `last seen at ${where(requests[requests.length - 1])} (${requests[requests.length - 1].event})`;
  return `${ping} did not reach ${flow.to}: ${stopped}\n${pathTable(flow)}`;
}

/** An echo request was delivered to the destination's stack, or an echo reply was seen (an ICMP error back is no arrival). */
function reachedDestination(flow: Flow): boolean {
  return flow.hops.some((h) => h.layers.some((l) => l.proto === 'icmp' && (l['icmp.type'] === ICMP_ECHO_REPLY || (h.event === 'deliver' && l['icmp.type'] === ICMP_ECHO_REQUEST))));
}

function where(h: Hop): string {
  return `${h.host}/${h.netns}/${hopDevices(h)}`;
}
