/**
 * One driver's run of the comparison and what it shows: its lab set up on the two hosts,
 * the same ping from c0 to c1, and the facts the table lists, read from what the run
 * printed and the trace of the ping (the same in sim and emu).
 */
import { Backend } from '../backend';
import { ScenarioSession } from '../runner/session';
import { Scenario, Step } from '../scenario/schema';
import { Flow, Hop, Trace } from '../trace/types';
import { firstRequestHops } from '../trace/path';
import { Layer } from '../wire/layer';
import { ComparePart, LabHost, PINGER, PartStep, TARGET } from './part';

/** Where the comparison runs: two hosts, a seed and a file to name in messages. */
export interface CompareLab {
  file: string;
  name: string;
  seed?: number;
  hosts: readonly [LabHost, LabHost];
}

export interface DriverFacts {
  driver: string;
  title: string;
  /** The setup ran and the ping was answered (or the driver could not run here: `unavailable`). */
  ok: boolean;
  /** Why emu cannot run the driver on this machine (a kernel feature it lacks): no failure, and no trace. */
  unavailable?: string;
  /** What went wrong, when not ok: the step and what it printed. */
  failure?: string;
  /** The request's steps on the driver's path, in order, and the devices it crossed (host:device). */
  steps: number[];
  devices: string[];
  containerMtu?: number;
  gateway?: string;
  /** Who answered c0's ARP request, and whether by proxy. */
  arp?: string;
  /** TTL of the echo reply as c0's ping printed it (sent with 64). */
  ttl?: number;
  layer?: 'L2' | 'L3';
  /** Bytes of one echo request's frame on the underlay, of the container's frame, and what the driver added. */
  underlayBytes?: number;
  containerBytes?: number;
  overhead?: number;
  outer?: string;
  peersFrom: string;
  flow?: Flow;
  trace?: Trace;
}

/** The row of a driver this machine's kernel cannot run in emu. */
export function unavailableDriver(part: ComparePart, why: string): DriverFacts {
  return { driver: part.id, title: part.title, ok: true, unavailable: why, steps: [], devices: [], peersFrom: part.peersFrom };
}

function scenarioStep(lab: CompareLab, s: PartStep, index: number): Step {
  return { index, on: 'host' in s.on ? lab.hosts[s.on.host].name : s.on.container, command: s.command, line: 0 };
}

/** The scenario a part makes of the lab: what `makeBackend` is given, and what the trace names. */
export function partScenario(lab: CompareLab, part: ComparePart): Scenario {
  return {
    file: lab.file, name: `${lab.name}-${part.id}`, ...(lab.seed !== undefined ? { seed: lab.seed } : {}),
    hosts: lab.hosts.map((h) => ({ name: h.name, underlay: h.underlay })), steps: part.setup(lab.hosts).map((s, i) => scenarioStep(lab, s, i)),
  };
}

const field = (layers: Layer[], proto: string, name: string, nth = 0): Layer[string] | undefined => layers.filter((l) => l.proto === proto)[nth]?.[name];
const ETHERNET_HEADER = 14;

/** Frame bytes of an IPv4 packet in Ethernet: its outermost IP total length and the 14-byte header. */
function frameBytes(h: Hop): number | undefined {
  const len = field(h.layers, 'ip', 'ip.len');
  return typeof len === 'number' ? len + ETHERNET_HEADER : undefined;
}

function outerOf(h: Hop): string {
  const vni = field(h.layers, 'vxlan', 'vxlan.vni');
  if (vni !== undefined) return `UDP ${String(field(h.layers, 'udp', 'udp.dstport'))} (VXLAN, VNI ${String(vni)})`;
  if (field(h.layers, 'ip', 'ip.proto') === 4) return 'IP protocol 4 (IPIP)';
  // UDP with no VXLAN in it: a user-space router's own framing (weave's sleeve).
  if (field(h.layers, 'udp', 'udp.dstport') !== undefined) return `UDP ${String(field(h.layers, 'udp', 'udp.dstport'))} (the router's own framing)`;
  return 'none (the packet itself, unencapsulated)';
}

/** Runs the part's lab and the ping, and reads the facts off them. */
export async function compareDriver(lab: CompareLab, part: ComparePart, scenario: Scenario, backend: Backend): Promise<DriverFacts> {
  const session = await ScenarioSession.start(scenario, backend);
  const facts = (more: Partial<DriverFacts>): DriverFacts => ({ driver: part.id, title: part.title, ok: false, steps: [], devices: [], peersFrom: part.peersFrom, trace: session.trace(), ...more });
  for (const s of scenario.steps) {
    const r = await session.step(s.on, s.command);
    if (r.exitCode !== 0) return facts({ failure: `${s.on}$ ${s.command}: exit ${r.exitCode}: ${(r.stderr || r.stdout).trim().split('\n')[0] ?? ''}` });
  }
  const iface = part.iface ?? 'eth0';
  const addr = await session.step(TARGET, `ip -4 addr show ${iface}`);
  const target = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(addr.stdout)?.[1];
  if (!target) return facts({ failure: `${TARGET} has no IPv4 address on ${iface}` });
  const mtu = Number(/mtu (\d+)/.exec((await session.step(PINGER, `ip link show ${iface}`)).stdout)?.[1]) || undefined;
  const gateway = /default via (\S+)/.exec((await session.step(PINGER, 'ip route')).stdout)?.[1];
  const pinged = await session.step(PINGER, `ping -c 1 ${target}`);
  await backend.settle();
  const flow = backend.flows().find((f) => pinged.flows.includes(f.id));
  const ttl = Number(/ttl=(\d+)/.exec(pinged.stdout)?.[1]) || undefined;
  // The echo request itself, encapsulated or not, from its sending to its delivery: the ARP exchanges around it are not the path.
  // (A payload no dissector opens, weave's sleeve, shows no ICMP on the wire: it is the echo's by its place in the flow.)
  const requestHops = flow ? firstRequestHops(flow) : [];
  const isEcho = (h: Hop) => h.layers.some((l) => l.proto === 'icmp');
  const from = requestHops.findIndex((h) => isEcho(h) && h.event === 'send');
  const to = requestHops.findIndex((h, i) => i > from && isEcho(h) && h.event === 'deliver');
  const request = (from < 0 ? [] : requestHops.slice(from, to < 0 ? undefined : to + 1)).filter((h) => !h.layers.some((l) => l.proto === 'arp'));
  const sent = request.find((h) => h.event === 'send');
  const wire = request.find((h) => h.host === 'underlay');
  // The answer to the pinger's own ARP request: for its gateway (routed drivers) or for the peer (an L2 overlay).
  const pinger = sent ? String(field(sent.layers, 'ip', 'ip.src')) : undefined;
  const answers = (flow?.hops ?? []).filter((h) => h.dir === 'request' && field(h.layers, 'arp', 'arp.opcode') === 2 && field(h.layers, 'arp', 'arp.dst.proto_ipv4') === pinger);
  const arp = answers.find((h) => h.event === 'arp-proxy-reply') ?? answers.find((h) => h.event === 'arp-reply');
  const arpIp = arp ? String(field(arp.layers, 'arp', 'arp.src.proto_ipv4')) : undefined;
  // A proxied answer for the gateway (Calico's 169.254.1.1, which no one has) is not the gateway's own.
  const proxied = arp?.event === 'arp-proxy-reply';
  const who = arpIp === undefined ? undefined : arpIp === gateway ? (proxied ? 'the gateway' : 'the gateway itself (its own address)') : arpIp === target ? 'the peer container itself' : 'another address';
  const devices: string[] = [];
  for (const h of request) {
    const d = `${h.host}:${h.device}`;
    if (h.step !== undefined && devices[devices.length - 1] !== d) devices.push(d);
  }
  const underlayBytes = wire ? frameBytes(wire) : undefined, containerBytes = sent ? frameBytes(sent) : undefined;
  return facts({
    ok: pinged.exitCode === 0, ...(pinged.exitCode === 0 ? {} : { failure: `${PINGER}: ping -c 1 ${target}: ${pinged.stdout.trim().split('\n').pop() ?? ''}` }),
    steps: [...new Set(request.filter((h) => h.step !== undefined && h.event !== 'drop').map((h) => h.step!))],
    devices, containerMtu: mtu, gateway,
    ...(arp ? { arp: `${arpIp} is-at ${String(field(arp.layers, 'arp', 'arp.src.hw_mac'))}: ${who}${proxied ? `, by proxy (${arp.device})` : ''}` } : {}),
    ttl, ...(ttl !== undefined ? { layer: ttl === 64 ? 'L2' : 'L3' } : {}),
    underlayBytes, containerBytes, ...(underlayBytes !== undefined && containerBytes !== undefined ? { overhead: underlayBytes - containerBytes } : {}),
    ...(wire ? { outer: outerOf(wire) } : {}), flow, trace: session.trace(),
  });
}
