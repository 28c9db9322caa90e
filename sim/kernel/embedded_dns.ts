/**
 * dockerd's embedded DNS server, as a container sees it at 127.0.0.11:53: dockerd's UDP
 * socket in the sandbox is at a port the kernel picked (the plan's socket.listen), and the
 * sandbox's nat rules (Docker's DNAT and SNAT) carry queries there and answers back from
 * :53. And the stub resolver that asks it.
 */
import { ExecContext } from '../backend';
import { Datapath } from './datapath';
import { SimNetns } from './objects';
import { dnsView } from '../model/dns';
import { serveDns } from '../model/resolver';
import { Container, hostOf, World } from '../model/world';
import { DNS_FLAG_RD, DNS_FLAG_RESPONSE, DNS_PORT, DnsRepr, emitDns, isQueryableName, parseDns, RCODE_NXDOMAIN } from '../wire/dns';
import { emitUdp } from '../wire/udp';
import { IPPROTO_UDP } from '../wire/ipv4';
import { Flow } from '../trace/types';

const EMBEDDED_DNS = '127.0.0.11';
/** Spreads the resolver's query ids (any odd multiplier walks all 16-bit values). */
const QUERY_ID_STRIDE = 7919;

export function containerOf(world: World, id: string | undefined): Container | undefined {
  if (!id) return undefined;
  for (const name of world.hostOrder) {
    const c = hostOf(world, name).containers[id];
    if (c) return c;
  }
  return undefined;
}

/**
 * The engine's state the servers answer from, per datapath: the world as it is now. Every
 * command that runs in a container brings the current world (queries arrive only while one
 * runs), so an answer never comes from the world of an earlier lookup.
 */
const engineWorld = new WeakMap<Datapath, World>();

/** Serves dockerd's UDP socket on 127.0.0.11 in a container's namespace, if the sandbox has one (a network with the embedded DNS). */
function ensureEmbeddedDns(dp: Datapath, ns: SimNetns, containerId: string): void {
  const port = ns.listening.find((s) => s.proto === 'udp' && s.address === EMBEDDED_DNS)?.port;
  if (port === undefined || dp.sockets.isBoundUdp(ns, EMBEDDED_DNS, port)) return;
  dp.sockets.bindUdp(ns, EMBEDDED_DNS, port, (h, srcPort, payload, skb) => {
    const world = engineWorld.get(dp);
    const asker = world && containerOf(world, containerId);
    // dockerd no longer serves a sandbox whose container is gone: the query goes unanswered.
    const reply = serveDns(asker && dnsView(world, asker), payload, 'udp');
    if (!reply) return;
    dp.clock.schedule(dp.delays.dns, () => {
      dp.ipSend(ns, { src: EMBEDDED_DNS, dst: h.src, protocol: IPPROTO_UDP, ttl: 64, id: dp.nextIpId(), tos: 0, dontFragment: true, moreFragments: false, fragmentOffset: 0 },
        emitUdp({ srcPort: port, dstPort: srcPort }, reply, { src: EMBEDDED_DNS, dst: h.src }), skb.flow, 'reply');
    });
  });
}

/** How long a resolver waits for an answer and how often it asks again. */
export interface ResolverTiming {
  /** Between one sending of the unanswered queries and the next. */
  retryNs: number;
  /** How long it waits in all before giving up. */
  totalNs: number;
}

/** glibc's stub resolver with resolv.conf's defaults (timeout:5, attempts:2): a second try after 5 s, given up after 10 s. */
export const GLIBC_RESOLVER: ResolverTiming = { retryNs: 5_000_000_000, totalNs: 10_000_000_000 };

/** What came back for the questions asked together: replies in the order they came, and the questions none answered. */
export interface Replies {
  replies: DnsRepr[];
  unanswered: { name: string; type: string }[];
}

/**
 * Questions asked of the nameserver of /etc/resolv.conf at once, one query each from one
 * UDP socket, over lo; the unanswered ones are sent again every `retryNs` until `totalNs`.
 */
export function askAll(dp: Datapath, ns: SimNetns, ctx: ExecContext, questions: { name: string; type: string }[], flow: Flow, timing: ResolverTiming): Replies | undefined {
  const resolv = ns.files.get('/etc/resolv.conf') ?? '';
  const server = /nameserver\s+(\S+)/.exec(resolv)?.[1];
  const c = containerOf(ctx.world, ctx.container);
  if (server !== EMBEDDED_DNS || !c) return undefined;
  engineWorld.set(dp, ctx.world);
  ensureEmbeddedDns(dp, ns, c.id);
  const port = dp.sockets.nextEphemeralPort();
  const queries = questions.map((q) => ({ q, id: (dp.nextIpId() * QUERY_ID_STRIDE) & 0xffff, reply: undefined as DnsRepr | undefined }));
  const replies: DnsRepr[] = [];
  const close = dp.sockets.bindUdp(ns, '127.0.0.1', port, (_h, _sp, payload) => {
    const r = parseDns(payload);
    const query = r.ok ? queries.find((x) => x.id === r.repr.id && !x.reply) : undefined;
    if (r.ok && query) {
      query.reply = r.repr;
      replies.push(r.repr);
    }
  });
  const start = dp.clock.now;
  const done = () => queries.every((x) => x.reply);
  for (let sentAt = start; sentAt < start + timing.totalNs && !done(); sentAt += timing.retryNs) {
    dp.clock.runUntil(sentAt, done);
    if (done()) break;
    for (const x of queries.filter((y) => !y.reply)) {
      const query = emitDns({ id: x.id, flags: DNS_FLAG_RD, questions: [x.q], answers: [] });
      dp.ipSend(ns, { src: '127.0.0.1', dst: EMBEDDED_DNS, protocol: IPPROTO_UDP, ttl: 64, id: dp.nextIpId(), tos: 0, dontFragment: true, moreFragments: false, fragmentOffset: 0 },
        emitUdp({ srcPort: port, dstPort: DNS_PORT }, query, { src: '127.0.0.1', dst: EMBEDDED_DNS }), flow, 'request');
    }
  }
  dp.clock.runUntil(start + timing.totalNs, done);
  close();
  return { replies, unanswered: queries.filter((x) => !x.reply).map((x) => x.q) };
}

/** The stub resolver: one question to the nameserver of /etc/resolv.conf (glibc's timing unless told), its answer or undefined when none came. */
export function resolve(dp: Datapath, ns: SimNetns, ctx: ExecContext, name: string, type: string, flow: Flow, timing: ResolverTiming = GLIBC_RESOLVER): DnsRepr | undefined {
  // glibc asks nothing for a name no query can carry, and answers as for a name that does not exist.
  if (!isQueryableName(name)) return { id: 0, flags: DNS_FLAG_RESPONSE | RCODE_NXDOMAIN, questions: [], answers: [] };
  return askAll(dp, ns, ctx, [{ name, type }], flow, timing)?.replies[0];
}
