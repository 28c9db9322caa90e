/**
 * dockerd's sockets in emu. emu runs no dockerd; the plan's sockets (socket.listen/close:
 * memberlist's 7946, the swarm API's 2377) are held by one small Node process per host
 * namespace, so the real kernel has them and `ss` shows them as on a Docker host: the same
 * addresses, ports, states and backlog (Go asks 4096, the kernel's somaxconn). Only `ss -p`
 * would tell the holder's name (node, not dockerd). On a swarm node the holder also plays the
 * daemon's control plane on the wire (sim/model/cluster.ts says whom to, how often and how
 * long each message is): a probe (UDP ping, answered with an ack) to the next peer every
 * second, a push/pull (TCP, each side's state) with a random peer every 30 s, NetworkDB's
 * bulk sync (TCP, one way, to a random member of a network, covering every network the two
 * share, answered on a connection of its own) every 30 s, NetworkDB's gossip rounds and a
 * network join's bulk syncs as the run makes them (netdb.ts, sent at the times given; a join's syncs, like the periodic
 * ones, one after another, each once the member has answered the last), and on a worker a TLS session to the manager's 2377 (mutual TLS with the
 * repository's test certificate) carrying a heartbeat each 5 s ± 0.5 s. The sealed bytes are
 * random, as the swarm's encryption makes the real ones look; a datagram is told a ping from
 * an ack, and a stream a bulk sync from a push/pull, by its length. In a container sandbox
 * the embedded DNS's responder (dns.ts) holds the resolver's UDP and TCP sockets, and
 * answers on them.
 */
import { ChildProcess } from 'child_process';
import type { ListeningSocket } from '../sim/plan/ops';
import type { NodeTraffic } from '../sim/model/cluster';
import type { GossipSend } from './netdb';
import { SWARM_TEST_CERT, SWARM_TEST_KEY } from './swarm-cert';
import { RunRecord } from './state';
import { startDaemon, stopDaemon } from './daemon';

/** argv[1] of a holder: how `cnmlab clean` recognises one of ours (clean.ts). */
export const LISTENER_MARK = 'cnmlab-listener';

/**
 * The holder: told on its first stdin line (JSON) the sockets to bind and, on a swarm node,
 * the node's traffic and its certificate, binds them and plays the traffic; says `ready` once
 * bound (and a worker's session is up, or has had two seconds), then waits to be killed. It
 * may be started before emu knows what it will hold (Listeners.park): a Node process takes
 * longer to start than the rest of a step's setup, which it then overlaps.
 */
const SCRIPT = `
const net = require('net'), dgram = require('dgram'), tls = require('tls'), crypto = require('crypto');
let sockets, t, cred, pending, session;
let udp, gossipTimers = [];
// After the first, one JSON line each: its traffic as the swarm changes (a peer joins, the state it pushes grows), or the gossip rounds to send.
let lines = '';
process.stdin.on('data', (d) => {
  lines += d;
  for (let i; (i = lines.indexOf('\\n')) >= 0; lines = lines.slice(i + 1)) {
    const m = JSON.parse(lines.slice(0, i));
    if (!sockets) hold(m);
    else if (m.gossip) gossip(m.gossip);
    else if (t) Object.assign(t, m);
  }
}).on('error', () => {});
const bound = () => { if (--pending === 0) { process.stdout.write('ready\\n'); if (t) play(); } };
const fail = (e) => { process.stderr.write(String(e.message) + '\\n'); process.exit(1); };
// What the swarm's keys would seal: a packet is the encryption version then opaque bytes; a stream puts
// memberlist's encryptMsg header (type 10, the length that follows) before that.
const packet = (n) => { const b = crypto.randomBytes(n); b[0] = 1; return b; };
const stream = (n) => { const b = crypto.randomBytes(n); b[0] = 10; b.writeUInt32BE(n - 5, 1); b[5] = 1; return b; };
const jitter = (ms) => Math.floor(Math.random() * ms);
const udpTo = (addr) => (udp.address().family === 'IPv6' ? '::ffff:' + addr : addr);
// A bulk sync is one way, on a connection of its own: written, then closed. A member's port is closed only while emu
// restarts its holder (its traffic changed; dockerd's never closes): a sync refused is tried again until the holder
// listens, 5 s at most. Past that it failed, as memberlist's SendReliable fails, and failed() says so.
const bulkSyncTo = (addr, n, failed) => {
  const until = Date.now() + 5000;
  const attempt = () => net.connect({ host: addr, port: 7946 }, function () { this.end(stream(n)); }).on('error', (e) => {
    if (e.code === 'ECONNREFUSED' && Date.now() < until) setTimeout(attempt, 50);
    else if (failed) failed();
  }).resume();
  attempt();
};
// Unsolicited bulk syncs go one after another: bulkSyncNode waits for the member's answer (30 s at most) before the next.
// What to do when a member's answer has come, by its address, in the order the syncs went.
const answered = new Map();
const syncsInTurn = (syncs) => {
  const s = syncs.shift();
  if (!s) return;
  const [peer, n] = s;
  let done = false;
  const next = () => { if (!done) { done = true; clearTimeout(timer); syncsInTurn(syncs); } };
  const timer = setTimeout(next, 30000);
  answered.set(peer, [...(answered.get(peer) || []), next]);
  // A sync that could not be sent is not answered: bulkSync goes on to the next member at once.
  bulkSyncTo(peer, n, () => { answered.set(peer, answered.get(peer).filter((f) => f !== next)); next(); });
};
function hold(what) {
sockets = what.sockets;
t = what.traffic;
cred = t ? { cert: what.cert, key: what.key } : undefined;
pending = sockets.length + (t && t.manager ? 1 : 0);
for (const s of sockets) {
  const host = s.address === '*' ? '::' : s.address;
  if (s.proto === 'tcp' && s.port === 2377 && t) {
    tls.createServer({ ...cred, requestCert: true, rejectUnauthorized: false }, (c) => {
      c.on('data', () => c.write(crypto.randomBytes(t.heartbeat.response))).on('error', () => {});
    }).on('error', fail).listen({ host, port: s.port, backlog: 4096, ipv6Only: false }, bound);
  } else if (s.proto === 'tcp') {
    net.createServer((c) => {
      if (!t) return c.destroy();
      // A stream is whole once its header's length has come: a member's bulk sync (told by its length) is answered,
      // once it ends, with this node's own if it came unasked; anything else is a push/pull, answered with this node's state.
      let got = Buffer.alloc(0), whole = false;
      c.on('data', (d) => {
        got = Buffer.concat([got, d]);
        if (whole || got.length < 5 || got.length < 5 + got.readUInt32BE(1)) return;
        whole = true;
        const sync = t.bulkSyncIn.find((b) => b.length === got.length);
        const from = c.remoteAddress.replace(/^::ffff:/, '');
        if (!sync) c.write(stream(t.pushPull));
        else if (sync.answer) c.once('end', () => bulkSyncTo(from, sync.answer));
        else c.once('end', () => { const waiting = answered.get(from); if (waiting && waiting.length) waiting.shift()(); });
      }).on('end', () => c.end()).on('error', () => {});
    }).on('error', fail).listen({ host, port: s.port, backlog: 4096, ipv6Only: false }, bound);
  } else {
    const u = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', ipv6Only: false }).on('error', fail);
    if (s.port === 7946) udp = u;
    u.on('message', (m, r) => {
      if (t && t.ping.includes(m.length)) u.send(packet(t.ack[t.ping.indexOf(m.length)]), r.port, r.address);
    });
    u.bind(s.port, host, bound);
  }
}
if (t && t.manager) {
  // A worker's session: up before it says ready, as the agent's is; made again when it drops.
  const start = Date.now();
  let counted = false;
  const once = () => { if (!counted) { counted = true; bound(); } };
  const connect = () => {
    const c = tls.connect({ host: t.manager, port: 2377, ...cred, rejectUnauthorized: false });
    c.on('secureConnect', () => { session = c; once(); });
    c.on('error', () => {});
    c.on('close', () => {
      if (session === c) session = undefined;
      if (Date.now() - start > 2000) once();
      setTimeout(connect, session === undefined && !counted ? 100 : 1000);
    });
  };
  connect();
}
}
// NetworkDB's gossip rounds and the joins' bulk syncs, as the run made them: [when (ms, this machine's clock), to whom,
// the datagram in hex] or [when, a join's syncs in turn: [to whom, the stream's length]…].
function gossip(sends) {
  for (const x of gossipTimers) clearTimeout(x);
  gossipTimers = sends.map(([at, to, what]) => setTimeout(() => {
    if (Array.isArray(to)) syncsInTurn(to.slice());
    else if (udp) udp.send(Buffer.from(what, 'hex'), 7946, udpTo(to));
  }, Math.max(0, at - Date.now())));
}
function play() {
  const ms = t.timersMs;
  // A timer at a random offset (memberlist's and NetworkDB's stagger), then every period (read anew: a swarm's size scales push/pull).
  const every = (period, fire) => { const tick = () => { fire(); setTimeout(tick, period()); }; setTimeout(tick, jitter(period())); };
  let seq = 0, order = [];
  const at = (v) => (t.ping.length === 3 ? (v < 128 ? 0 : v < 256 ? 1 : 2) : 0);
  every(() => t.timersMs.probe, () => {
    if (!order.length) order = t.peers.slice().sort(() => Math.random() - 0.5);
    const peer = order.shift();
    seq++;
    if (peer && udp) udp.send(packet(t.ping[at(seq)]), 7946, udpTo(peer));
  });
  every(() => t.timersMs.pushPull, () => {
    const peer = t.peers[Math.floor(Math.random() * t.peers.length)];
    if (!peer) return;
    const c = net.connect({ host: peer, port: 7946 }, () => c.write(stream(t.pushPull)));
    c.once('data', () => c.end()).on('error', () => {});
  });
  // NetworkDB's per node: the first network not yet covered draws a member, whose sync covers every network they share.
  every(() => t.timersMs.bulkSync, () => {
    let left = t.bulkSyncNetworks.map((_, i) => i), syncs = [];
    while (left.length) {
      const peers = t.bulkSyncNetworks[left.shift()];
      const sync = t.bulkSync.find((b) => b.peer === peers[Math.floor(Math.random() * peers.length)]);
      if (!sync) continue;
      syncs.push([sync.peer, sync.stream]);
      left = left.filter((i) => !sync.networks.includes(i));
    }
    syncsInTurn(syncs);
  });
  const beat = () => {
    if (session) session.write(crypto.randomBytes(t.heartbeat.request));
    setTimeout(beat, t.timersMs.heartbeat - t.timersMs.heartbeatJitter + jitter(2 * t.timersMs.heartbeatJitter));
  };
  if (t.manager) setTimeout(beat, jitter(ms.heartbeat));
}
`;

type SocketOp = { netns: string; op: 'socket.listen' | 'socket.close'; socket: ListeningSocket };

/** What a host namespace's daemon sends, made when a holder needs it (the model's bulk-sync streams are compressed, which costs). */
export type TrafficOf = () => NodeTraffic;

interface Held {
  sockets: ListeningSocket[];
  traffic?: NodeTraffic;
  /** Traffic told while no holder ran: made when one starts. */
  pending?: TrafficOf;
  gossip?: GossipSend[];
  gossipTold?: boolean;
  holder?: ChildProcess;
}

/** The traffic a holder starts with: the one told last, made now if it was not yet. */
function trafficNow(h: Held): NodeTraffic | undefined {
  if (h.pending) {
    h.traffic = h.pending();
    h.pending = undefined;
  }
  return h.traffic;
}

export class Listeners {
  /** Per real namespace: the sockets held, and the holder. */
  private readonly held = new Map<string, Held>();

  /** Holders being started, so two callers start one… */
  private readonly starting = new Map<string, Promise<void>>();
  /** …and their processes, so a holder no longer wanted is stopped before it is ready (a worker's waits up to two seconds for its manager). */
  private readonly spawning = new Map<string, ChildProcess>();
  /** Holders started ahead (park), holding nothing yet: the process, and its start (ready once told what to hold). */
  private readonly parked = new Map<string, { child?: ChildProcess; started: Promise<ChildProcess> }>();

  constructor(private readonly record: RunRecord) {}

  /**
   * Applies a step's socket ops. A holder starts when a command runs on its host (sync), or in
   * the background on a swarm node, whose daemon talks to the others (warm): setup does not
   * wait for it. One whose set changed stops now (a closed socket must be gone) and starts
   * again when next wanted.
   */
  async apply(ops: SocketOp[]): Promise<void> {
    const changed = new Set<string>();
    for (const o of ops) {
      const h = this.held.get(o.netns) ?? { sockets: [] };
      this.held.set(o.netns, h);
      const same = (s: ListeningSocket) => s.proto === o.socket.proto && s.address === o.socket.address && s.port === o.socket.port;
      h.sockets = o.op === 'socket.listen' ? [...h.sockets, o.socket] : h.sockets.filter((s) => !same(s));
      changed.add(o.netns);
    }
    await Promise.all([...changed].map((netns) => this.stopHolder(netns)));
  }

  /**
   * What each host namespace's daemon sends (undefined: none, outside a swarm). A running
   * holder learns a change on its stdin (a peer joined, the state it pushes grew); one that
   * starts or stops sending at all stops, to start again as the other. Where no holder runs,
   * the traffic is made only once one starts (a lab nobody looks into starts none).
   */
  async setTraffic(byNetns: Map<string, TrafficOf | undefined>): Promise<void> {
    const restart: string[] = [];
    for (const [netns, trafficOf] of byNetns) {
      const h = this.held.get(netns) ?? { sockets: [] };
      this.held.set(netns, h);
      if (!h.holder && !this.starting.has(netns)) {
        h.traffic = undefined;
        h.pending = trafficOf;
        continue;
      }
      const traffic = trafficOf?.();
      if (JSON.stringify(trafficNow(h)) === JSON.stringify(traffic)) continue;
      const still = h.traffic !== undefined && traffic !== undefined;
      const told = still && h.holder?.stdin?.writable;
      h.traffic = traffic;
      if (told) h.holder!.stdin!.write(JSON.stringify(traffic) + '\n');
      // One still starting learns the change once it is up (sync): a step's new table clock must not restart it.
      else if (!(still && this.starting.has(netns))) restart.push(netns);
    }
    await Promise.all(restart.map((netns) => this.stopHolder(netns)));
  }

  /** NetworkDB's gossip rounds a host namespace's daemon is to send (netdb.ts): its holder's schedule, replaced. */
  gossip(netns: string, sends: GossipSend[]): void {
    const h = this.held.get(netns) ?? { sockets: [] };
    this.held.set(netns, h);
    h.gossip = sends;
    h.gossipTold = false;
    this.tellGossip(h);
  }

  /**
   * Hands the schedule to the running holder. Rounds due before a holder started are sent at
   * once (a table event is not lost to a start); a holder that replaces one already told gets
   * only the rounds still to come (none is sent twice).
   */
  private tellGossip(h: Held): void {
    if (!h.gossip?.length || !h.holder?.stdin?.writable) return;
    const now = Date.now();
    const sends = h.gossipTold ? h.gossip.filter(([at]) => at >= now) : h.gossip;
    h.holder.stdin.write(JSON.stringify({ gossip: sends }) + '\n');
    h.gossipTold = true;
  }

  /** Whether a holder runs (or is starting) in a namespace. */
  holds(netns: string): boolean {
    return this.held.get(netns)?.holder !== undefined || this.starting.has(netns);
  }

  /** Starts the holder of a namespace that has sockets to hold and none holding them. */
  async sync(netns: string): Promise<void> {
    const h = this.held.get(netns);
    const busy = this.starting.get(netns);
    if (busy) return busy;
    if (!h || h.holder || h.sockets.length === 0) return;
    const startedWith = trafficNow(h);
    const started = this.start(netns, h.sockets, startedWith).then((child) => {
      h.holder = child;
      if (h.traffic && startedWith && JSON.stringify(h.traffic) !== JSON.stringify(startedWith)) child.stdin?.write(JSON.stringify(h.traffic) + '\n');
      this.tellGossip(h);
    }).finally(() => {
      this.starting.delete(netns);
      this.spawning.delete(netns);
    });
    this.starting.set(netns, started);
    return started;
  }

  /**
   * Starts the holders of swarm nodes in the background, so their traffic is on the wire by
   * the time a ping is captured (a step that needs one still waits for it in sync).
   */
  warm(netns: string[]): void {
    for (const n of netns) void this.sync(n).catch(() => undefined);
  }

  /** A kept lab's hosts are entered with `ip netns exec`, not through a step: every holder starts. */
  async startEvery(): Promise<void> {
    await Promise.all([...this.held.keys()].map((netns) => this.sync(netns)));
  }

  /**
   * Starts the holders of these namespaces ahead, where none runs or is starting: each holds
   * nothing until a sync tells it what (the start of a Node process is most of a holder's,
   * and overlaps the setup this way). One never told is stopped with its namespace.
   */
  park(namespaces: string[]): void {
    for (const netns of namespaces) {
      if (this.parked.has(netns) || this.held.get(netns)?.holder || this.starting.has(netns)) continue;
      let child: ChildProcess | undefined;
      const started = startDaemon(this.record, netns, {
        argv: [process.execPath, '-e', SCRIPT, LISTENER_MARK],
        // Its stdin stays open: what to hold, then traffic changes.
        stdin: true,
        spawned: (c) => (child = c),
        failure: (code, stderr) => `the sockets dockerd holds in ${netns} could not be opened (exit ${code}): ${stderr}`,
      });
      // Its failure is the sync's that uses it; one never used fails nobody.
      started.catch(() => undefined);
      this.parked.set(netns, { child, started });
    }
  }

  private start(netns: string, sockets: ListeningSocket[], traffic?: NodeTraffic): Promise<ChildProcess> {
    this.park([netns]);
    const parked = this.parked.get(netns)!;
    this.parked.delete(netns);
    // No process: its start failed (the run could not record it), as `started` says.
    if (!parked.child) return parked.started;
    this.spawning.set(netns, parked.child);
    parked.child.stdin!.write(JSON.stringify({ sockets, ...(traffic ? { traffic, cert: SWARM_TEST_CERT, key: SWARM_TEST_KEY } : {}) }) + '\n');
    return parked.started;
  }

  /** Stops a holder started ahead and never told what to hold. */
  private async unpark(netns: string): Promise<void> {
    const parked = this.parked.get(netns);
    this.parked.delete(netns);
    if (parked?.child) await stopDaemon(this.record, parked.child);
  }

  private async stopHolder(netns: string): Promise<void> {
    const h = this.held.get(netns);
    const spawning = this.spawning.get(netns);
    if (spawning) await stopDaemon(this.record, spawning);
    await this.starting.get(netns)?.catch(() => undefined);
    const child = h?.holder;
    if (!h || !child) return;
    h.holder = undefined;
    await stopDaemon(this.record, child);
  }

  /** Stops a namespace's holder before the namespace goes (a process would keep it alive). */
  async stop(netns: string): Promise<void> {
    await Promise.all([this.stopHolder(netns), this.unpark(netns)]);
    this.held.delete(netns);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...new Set([...this.held.keys(), ...this.parked.keys()])].map((netns) => this.stop(netns)));
  }
}
