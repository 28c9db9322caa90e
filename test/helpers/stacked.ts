/**
 * What the macvlan and ipvlan tests run alike: their lab's two pings (to a container on the
 * other host, to the own host's address) and two containers on one host's network pinging.
 */
import type { Hop } from '../../sim/trace/types';
import { STACKED_STEP } from '../../sim/trace/paths/stacked';
import { runLab, runSim } from './run';

/** A hop as `step host/device event`. */
const where = (h: Hop) => `${h.step} ${h.host}/${h.device} ${h.event}`;

/** The lab `scenarios/<driver>.yaml`: its failed steps, its two pings and the first five echo-request hops of the one across hosts. */
export async function stackedLab(driver: 'macvlan' | 'ipvlan') {
  const run = await runLab(driver);
  const failed = run.result.steps.filter((st) => !st.ok).map((st) => st.command);
  const [ping, own] = run.result.trace.flows.filter((f) => f.kind === 'icmp-echo');
  const echo = ping.hops.filter((h) => h.dir === 'request' && h.layers.some((l) => l.proto === 'icmp')).slice(0, 5);
  return { ...run, failed, ping, own, echo, route: echo.map(where) };
}

/** The route a stacked driver's echo request takes from r0's container to r1's. */
export function crossHostRoute(): string[] {
  const { send, parent, underlay, parentIn, deliver } = STACKED_STEP;
  return [`${send} r0/eth0 send`, `${parent} r0/eth0 bridge-forward`, `${underlay} underlay/segment underlay`, `${parentIn} r1/eth0 bridge-forward`, `${deliver} r1/eth0 deliver`];
}

/** Two containers, web and db, on one host's `driver` network named `name` (subnet `/24`): web pings db. Its failed steps and the echo's hops. */
export async function oneHostPing(driver: 'macvlan' | 'ipvlan', name: string, subnet: string) {
  const { result } = await runSim(`name: ${name}1
hosts:
  r0: {}
  r1: {}
steps:
  - r0: docker network create -d ${driver} --subnet ${subnet}/24 -o parent=eth0 ${name}
  - r0: docker run -dit --name web --network ${name} alpine
  - r0: docker run -dit --name db --network ${name} alpine
  - web: ping -c 1 db
    expect: { exit: 0, path: local }
`);
  const failed = result.steps.filter((st) => !st.ok).map((st) => st.command);
  const flow = result.trace.flows.find((f) => f.kind === 'icmp-echo')!;
  const echo = flow.hops.filter((h) => h.layers.some((l) => l.proto === 'icmp'));
  return { failed, echo };
}
