/**
 * dockerd's sockets in emu. emu runs no dockerd; the plan's sockets (socket.listen/close:
 * memberlist's 7946, the swarm API's 2377) are held by one small Node process for the whole
 * run, in the machine's namespace, as dockerd holds every namespace's sockets in one process:
 * Node cannot enter a namespace, so a Perl supplier it runs makes each socket in the node's
 * namespace and hands it over (SCM_RIGHTS on Node's IPC channel), the sockets it connects
 * from too. The real kernel has them and `ss` shows them as on a Docker host: the same
 * addresses, ports, states and backlog (Go asks 4096, the kernel's somaxconn). Only `ss -p`
 * would tell the holder's name (node, not dockerd). For a swarm node the holder also plays the
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
 * answers on them. A published port's docker-proxy sockets (0.0.0.0 and :: apart, as Go's tcp4 and
 * tcp6 listen) are held in the host's namespace the same way, and forward nothing.
 */
import { ChildProcess } from 'child_process';
import type { ListeningSocket } from '../sim/plan/ops';
import type { NodeTraffic } from '../sim/model/cluster';
import type { GossipSend } from './netdb';
import { SWARM_TEST_CERT, SWARM_TEST_KEY } from './swarm-cert';
import { EmuEnvironmentError, RunRecord } from './state';
import { startDaemon, stopDaemon } from './daemon';
import { ENTER_NETNS, SYSCALLS } from './nsworker';

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
const net = require('net'), dgram = require('dgram'), tls = require('tls'), crypto = require('crypto'), { spawn } = require('child_process');
const [supplierScript, setnsCall, sendmsgCall] = process.argv.slice(-3);
// Told on stdout: each namespace's answer (a kept lab's holder outlives the reader).
const say = (line) => process.stdout.write(line + '\\n');
process.stdout.on('error', () => {});
// The socket supplier: a Perl process (it can enter a namespace, Node cannot) that makes each socket asked for in the namespace named and hands it over on Node's IPC channel.
const supplier = spawn('perl', ['-e', supplierScript, setnsCall, sendmsgCall], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
supplier.on('exit', () => process.exit(1));
say('ready');
let asked = 0;
const asking = new Map();
supplier.on('message', (m, handle) => {
  const use = asking.get(m.id);
  asking.delete(m.id);
  if (use) use(m.error, handle);
  else if (handle) handle.close();
});
const askSupplier = (what, use) => { asking.set(++asked, use); supplier.send({ ...what, id: asked }); };
const nodes = new Map();
// One JSON line each, for one namespace: what to hold (and its traffic), its traffic as the swarm changes (a peer joins, the state it pushes grows), the gossip rounds to send, or to stop.
let lines = '';
process.stdin.on('data', (d) => {
  lines += d;
  for (let i; (i = lines.indexOf('\\n')) >= 0; lines = lines.slice(i + 1)) {
    const m = JSON.parse(lines.slice(0, i));
    let n = nodes.get(m.ns);
    if (m.hold) { if (n) n.stop(); n = node(m.ns); nodes.set(m.ns, n); n.hold(m.hold); }
    else if (!n) { if (m.stop) say('stopped ' + m.ns); }
    else if (m.stop) { nodes.delete(m.ns); n.stop(() => say('stopped ' + m.ns)); }
    else if (m.gossip) n.gossip(m.gossip);
    else n.change(m.traffic);
  }
}).on('error', () => {});
// What the swarm's keys would seal: a packet is the encryption version then opaque bytes; a stream puts
// memberlist's encryptMsg header (type 10, the length that follows) before that.
const packet = (n) => { const b = crypto.randomBytes(n); b[0] = 1; return b; };
const stream = (n) => { const b = crypto.randomBytes(n); b[0] = 10; b.writeUInt32BE(n - 5, 1); b[5] = 1; return b; };
const jitter = (ms) => Math.floor(Math.random() * ms);
// One swarm node's daemon, in its namespace: its sockets, connections and timers, all gone when it stops.
function node(ns) {
const owned = new Set(), timers = new Set();
let stopped = false;
const setTimeout = (f, ms) => { const x = globalThis.setTimeout(() => { timers.delete(x); f(); }, ms); timers.add(x); return x; };
const clearTimeout = (x) => { timers.delete(x); globalThis.clearTimeout(x); };
const own = (x) => { owned.add(x); x.once('close', () => owned.delete(x)); return x; };
// The sockets asked of the supplier and not yet handed over: a stop is answered only once each has come and been closed,
// or a socket bound for a hold told just before the stop would still listen after the stop was answered.
let unanswered = 0, idle;
const ask = (what, use) => {
  unanswered++;
  askSupplier(what, (e, handle) => {
    unanswered--;
    use(e, handle);
    if (unanswered === 0 && idle) { const done = idle; idle = undefined; done(); }
  });
};
// A connection from this namespace: its socket, made there by the supplier, connects at once (an unconnected one would
// read as hung up), before use sees it (TLS takes a socket not connecting for one connected).
const connectFrom = (host, port, use) => ask({ want: 'connect', ns, family: host.includes(':') ? 6 : 4 }, (e, handle) => {
  if (stopped || e) { if (handle) handle.close(); return; }
  const c = own(new net.Socket({ handle }));
  c.connect(port, host);
  use(c);
});
let sockets, t, cred, pending, session;
let udp, gossipTimers = [];
const bound = () => { if (--pending === 0) { say('ready ' + ns); if (t) play(); } };
const fail = (e) => { if (!stopped) { say('failed ' + ns + ' ' + String(e.message || e)); stop(); nodes.delete(ns); } };
const udpTo = (addr) => (udp.address().family === 'IPv6' ? '::ffff:' + addr : addr);
// A bulk sync is one way, on a connection of its own: written, then closed. A member's port is closed only while emu
// restarts its holder (its traffic changed; dockerd's never closes): a sync refused is tried again until the holder
// listens, 5 s at most. Past that it failed, as memberlist's SendReliable fails, and failed() says so.
const bulkSyncTo = (addr, n, failed) => {
  const until = Date.now() + 5000;
  const attempt = () => connectFrom(addr, 7946, (c) => c.on('connect', () => c.end(stream(n))).on('error', (e) => {
    if (e.code === 'ECONNREFUSED' && Date.now() < until) setTimeout(attempt, 50);
    else if (failed) failed();
  }).resume());
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
// A listening socket, bound by the supplier in this namespace; listened on here, with Go's backlog.
const listen = (s, server) => ask({ want: 'listen', ns, address: s.address, port: s.port }, (e, handle) => {
  if (e) return fail(new Error(e));
  if (stopped) return handle.close();
  own(server.on('error', fail)).listen(handle, 4096, bound);
});
function hold(what) {
sockets = what.sockets;
t = what.traffic;
cred = t ? { cert: what.cert, key: what.key } : undefined;
pending = sockets.length + (t && t.manager ? 1 : 0);
for (const s of sockets) {
  if (s.proto === 'tcp' && s.port === 2377 && t) {
    listen(s, tls.createServer({ ...cred, requestCert: true, rejectUnauthorized: false }, (c) => {
      own(c).on('data', () => c.write(crypto.randomBytes(t.heartbeat.response))).on('error', () => {});
    }));
  } else if (s.proto === 'tcp') {
    listen(s, net.createServer((c) => {
      own(c);
      // Only memberlist's port speaks (a docker-proxy's socket is held, not forwarded).
      if (!t || s.port !== 7946) return c.destroy();
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
    }));
  } else {
    ask({ want: 'udp', ns, address: s.address, port: s.port }, (e, u) => {
      if (e) return fail(new Error(e));
      if (stopped) return u.close();
      own(u).on('error', fail);
      if (s.port === 7946) udp = u;
      u.on('message', (m, r) => {
        if (t && s.port === 7946 && t.ping.includes(m.length)) u.send(packet(t.ack[t.ping.indexOf(m.length)]), r.port, r.address);
      });
      bound();
    });
  }
}
if (t && t.manager) {
  // A worker's session: up before it says ready, as the agent's is; made again when it drops.
  const start = Date.now();
  let counted = false;
  const once = () => { if (!counted) { counted = true; bound(); } };
  const connect = () => connectFrom(t.manager, 2377, (s) => {
    const c = own(tls.connect({ socket: s, ...cred, rejectUnauthorized: false }));
    c.on('secureConnect', () => { session = c; once(); });
    c.on('error', () => {});
    c.on('close', () => {
      if (session === c) session = undefined;
      if (Date.now() - start > 2000) once();
      setTimeout(connect, session === undefined && !counted ? 100 : 1000);
    });
  });
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
    connectFrom(peer, 7946, (c) => {
      c.on('connect', () => c.write(stream(t.pushPull)));
      c.once('data', () => c.end()).on('error', () => {});
    });
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
// Gone at once: its timers, its connections and its sockets (a namespace is deleted only once nothing holds it).
function stop(done) {
  stopped = true;
  for (const x of timers) globalThis.clearTimeout(x);
  for (const x of owned) x.destroy ? x.destroy() : x.close();
  if (!done) return;
  if (unanswered === 0) done();
  else idle = done;
}
return { hold, gossip, stop, change: (traffic) => { if (t) Object.assign(t, traffic); } };
}
`;

/**
 * The socket supplier (run by the holder, its parent, with Node's IPC channel as fd 3): a JSON
 * line asks for a socket in a namespace (a bound TCP or UDP one, or one to connect from); it
 * enters the namespace as the namespace worker does (ENTER_NETNS: one of emu's names only),
 * makes it, and passes it in a NODE_HANDLE message (SCM_RIGHTS, by the sendmsg system call:
 * Perl has no sendmsg of its own), or answers the error. It holds none itself, and ends when
 * the holder does.
 */
export const SUPPLIER = String.raw`
use strict;
use warnings;
use Socket qw(AF_INET AF_INET6 SOCK_STREAM SOCK_DGRAM SOL_SOCKET SO_REUSEADDR inet_pton pack_sockaddr_in pack_sockaddr_in6);
my ($setns, $sendmsg) = @ARGV;
${ENTER_NETNS}
open(my $channel, '+<&=', 3) or die "the holder's channel: $!\n";
sub answer {
  my ($id, $error) = @_;
  $error =~ s/["\\]//g;
  syswrite($channel, qq({"id":$id,"error":"$error"}\n));
}
sub pass {
  my ($id, $type, $socket) = @_;
  my $line = qq({"cmd":"NODE_HANDLE","type":$type,"msg":{"id":$id}}\n);
  my $iov = pack('P Q', $line, length $line);
  my $control = pack('Q i i i x4', 20, SOL_SOCKET, 1, fileno($socket));
  my $header = pack('Q L x4 P Q P Q i x4', 0, 0, $iov, 1, $control, 24, 0);
  syscall($sendmsg, fileno($channel), $header, 0) == length $line or answer($id, "passing the socket failed: $!");
}
sub make {
  my ($id, $want, $netns, $family, $address, $port) = @_;
  my $error = enter_netns($netns);
  return answer($id, $error) if defined $error;
  my $v6 = $want eq 'connect' ? $family == 6 : $address eq '*' || $address =~ /:/;
  socket(my $s, $v6 ? AF_INET6 : AF_INET, $want eq 'udp' ? SOCK_DGRAM : SOCK_STREAM, 0) or return answer($id, "socket: $!");
  if ($want ne 'connect') {
    # '*': one socket for both families (IPV6_V6ONLY off), as Go's listen on an unspecified address;
    # an IPv6 address (docker-proxy's ::, Go's tcp6 and udp6) for IPv6 alone.
    setsockopt($s, 41, 26, $address eq '*' ? 0 : 1) if $v6;
    setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1) if $want eq 'listen';
    my $at = $v6 ? pack_sockaddr_in6($port, inet_pton(AF_INET6, $address eq '*' ? '::' : $address)) : pack_sockaddr_in($port, inet_pton(AF_INET, $address));
    bind($s, $at) or return answer($id, "bind $address:$port: $!");
  }
  pass($id, $want eq 'udp' ? ($v6 ? '"dgram.Socket","dgramType":"udp6"' : '"dgram.Socket","dgramType":"udp4"') : '"net.Native"', $s);
}
my $in = '';
while (sysread($channel, $in, 65536, length $in)) {
  while ($in =~ s/^(.*)\n//) {
    my $m = $1;
    next unless $m =~ /"want":"(\w+)","ns":"([^"]+)"/;
    my ($want, $netns) = ($1, $2);
    my ($id) = $m =~ /"id":(\d+)/;
    my ($family) = $m =~ /"family":(\d+)/;
    my ($address) = $m =~ /"address":"([^"]*)"/;
    my ($port) = $m =~ /"port":(\d+)/;
    make($id, $want, $netns, $family // 4, $address // '*', $port // 0);
  }
}
`;

type SocketOp = { netns: string; op: 'socket.listen' | 'socket.close'; socket: ListeningSocket };

/** What a host namespace's daemon sends, made when a holder needs it (the model's bulk-sync streams are compressed, which costs). */
export type TrafficOf = () => NodeTraffic;

interface Held {
  sockets: ListeningSocket[];
  traffic?: NodeTraffic;
  /** Traffic told while the holder held nothing here: made when it starts to. */
  pending?: TrafficOf;
  gossip?: GossipSend[];
  gossipTold?: boolean;
  /** The holder holds this namespace's sockets (told, and said ready). */
  on?: boolean;
}

/** The traffic a namespace is held with: the one told last, made now if it was not yet. */
function trafficNow(h: Held): NodeTraffic | undefined {
  if (h.pending) {
    h.traffic = h.pending();
    h.pending = undefined;
  }
  return h.traffic;
}

/** The run's one holder process (SCRIPT), from its spawn on. */
class Holder {
  /** Its process once spawned (a start that failed before the spawn has none): stopped even before it is ready. */
  child?: ChildProcess;
  /** It said ready and has not ended: what is told reaches it. */
  up = false;
  /** Resolves once it said ready; rejects with why it could not start. */
  readonly ready: Promise<void>;

  constructor(start: (spawned: (child: ChildProcess) => void) => Promise<ChildProcess>, lost: (holder: Holder) => void) {
    this.ready = start((child) => (this.child = child)).then((child) => {
      this.up = true;
      // Gone while the run goes on: every namespace it held is held no more, and whoever waits is told.
      child.once('exit', () => lost(this));
    });
    // Its failure is the sync's that uses it; one never used fails nobody.
    this.ready.catch(() => undefined);
  }
}

/** What the holder answers about a namespace: ready, stopped, or failed (and why). */
type Answer = { said: 'ready' | 'stopped' } | { said: 'failed'; why: string };

export class Listeners {
  /** Per real namespace: the sockets held, and whether the holder holds them. */
  private readonly held = new Map<string, Held>();
  /** Namespaces being started, so two callers start one. */
  private readonly starting = new Map<string, Promise<void>>();
  /** Who waits for the holder's next answer about a namespace. */
  private readonly waiting = new Map<string, ((a: Answer) => void)[]>();
  /** The run's one holder (started ahead by park, or by the first sync). */
  private holder?: Holder;

  constructor(private readonly record: RunRecord) {}

  /**
   * Applies a step's socket ops. A namespace is held when a command runs on its host (sync),
   * or in the background on a swarm node, whose daemon talks to the others (warm): setup does
   * not wait for it. One whose set changed stops now (a closed socket must be gone) and is
   * held again when next wanted.
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
    await Promise.all([...changed].map((netns) => this.stopHolding(netns)));
  }

  /**
   * What each host namespace's daemon sends (undefined: none, outside a swarm). A namespace
   * held learns a change (a peer joined, the state it pushes grew); one that starts or stops
   * sending at all stops, to be held again as the other. Where nothing is held, the traffic
   * is made only once it is (a lab nobody looks into holds nothing).
   */
  async setTraffic(byNetns: Map<string, TrafficOf | undefined>): Promise<void> {
    const restart: string[] = [];
    for (const [netns, trafficOf] of byNetns) {
      const h = this.held.get(netns) ?? { sockets: [] };
      this.held.set(netns, h);
      if (!h.on && !this.starting.has(netns)) {
        h.traffic = undefined;
        h.pending = trafficOf;
        continue;
      }
      const traffic = trafficOf?.();
      if (JSON.stringify(trafficNow(h)) === JSON.stringify(traffic)) continue;
      const still = h.traffic !== undefined && traffic !== undefined;
      h.traffic = traffic;
      if (still && h.on) this.tell({ ns: netns, traffic });
      // One still starting learns the change once it is up (sync): a step's new table clock must not restart it.
      else if (!(still && this.starting.has(netns))) restart.push(netns);
    }
    await Promise.all(restart.map((netns) => this.stopHolding(netns)));
  }

  /** NetworkDB's gossip rounds a host namespace's daemon is to send (netdb.ts): its schedule, replaced. */
  gossip(netns: string, sends: GossipSend[]): void {
    const h = this.held.get(netns) ?? { sockets: [] };
    this.held.set(netns, h);
    h.gossip = sends;
    h.gossipTold = false;
    this.tellGossip(netns, h);
  }

  /**
   * Hands the schedule to the holder. Rounds due before the namespace was held are sent at
   * once (a table event is not lost to a start); a namespace held again after one told gets
   * only the rounds still to come (none is sent twice).
   */
  private tellGossip(netns: string, h: Held): void {
    if (!h.gossip?.length || !h.on) return;
    const now = Date.now();
    const sends = h.gossipTold ? h.gossip.filter(([at]) => at >= now) : h.gossip;
    this.tell({ ns: netns, gossip: sends });
    h.gossipTold = true;
  }

  /** Whether a namespace is held (or being started). */
  holds(netns: string): boolean {
    return this.held.get(netns)?.on === true || this.starting.has(netns);
  }

  /** Holds the sockets of a namespace that has some and is not held. */
  async sync(netns: string): Promise<void> {
    const h = this.held.get(netns);
    const busy = this.starting.get(netns);
    if (busy) return busy;
    if (!h || h.on || h.sockets.length === 0) return;
    const startedWith = trafficNow(h);
    const started = this.hold(netns, h.sockets, startedWith).then((held) => {
      if (!held) return;
      h.on = true;
      if (h.traffic && startedWith && JSON.stringify(h.traffic) !== JSON.stringify(startedWith)) this.tell({ ns: netns, traffic: h.traffic });
      this.tellGossip(netns, h);
    }).finally(() => this.starting.delete(netns));
    this.starting.set(netns, started);
    return started;
  }

  /**
   * Holds the sockets of swarm nodes in the background, so their traffic is on the wire by the
   * time a ping is captured (a step that needs one still waits for it in sync).
   */
  warm(netns: string[]): void {
    for (const n of netns) void this.sync(n).catch(() => undefined);
  }

  /** A kept lab's hosts are entered with `ip netns exec`, not through a step: every namespace is held. */
  async startEvery(): Promise<void> {
    await Promise.all([...this.held.keys()].map((netns) => this.sync(netns)));
  }

  /**
   * Starts the holder ahead when one of these namespaces will be held: it holds nothing until
   * a sync tells it what (the start of a Node process is most of a holder's, and overlaps the
   * setup this way).
   */
  park(namespaces: string[]): void {
    if (namespaces.length === 0 || this.holder) return;
    this.holder = new Holder((spawned) => startDaemon(this.record, undefined, {
      // Its TLS trusts no authority (it verifies nothing), so it looks for none: Node's own bundled roots, which each TLS
      // context of a process would otherwise parse first, are replaced by OpenSSL's store (--use-openssl-ca) with no
      // certificate file, whose directory is read only for a certificate being verified.
      argv: ['SSL_CERT_FILE=/dev/null', process.execPath, '--use-openssl-ca', '-e', SCRIPT, LISTENER_MARK, this.record.state.prefix, SUPPLIER, String(SYSCALLS.setns), String(SYSCALLS.sendmsg)],
      // Its stdin stays open: what to hold, traffic changes, what to stop; its stdout says how each namespace stands.
      stdin: true,
      lines: (line) => this.answered(line),
      spawned,
      failure: (code, stderr) => `dockerd's sockets could not be held (exit ${code}): ${stderr}`,
    }), (holder) => this.lost(holder));
  }

  /** The holder's process once it is ready, while it runs. */
  private get running(): ChildProcess | undefined {
    return this.holder?.up ? this.holder.child : undefined;
  }

  /** Tells the holder what to hold in a namespace; true once it is held, false if it was stopped first. */
  private async hold(netns: string, sockets: ListeningSocket[], traffic?: NodeTraffic): Promise<boolean> {
    if (!SYSCALLS.setns || !SYSCALLS.sendmsg) throw new EmuEnvironmentError(`emu holds dockerd's sockets on 64-bit Linux only (this is ${process.arch})`);
    this.park([netns]);
    await this.holder?.ready;
    const answer = this.answer(netns);
    this.tell({ ns: netns, hold: { sockets, ...(traffic ? { traffic, cert: SWARM_TEST_CERT, key: SWARM_TEST_KEY } : {}) } });
    const a = await answer;
    if (a.said === 'failed') throw new EmuEnvironmentError(`the sockets dockerd holds in ${netns} could not be opened: ${a.why}`);
    return a.said === 'ready';
  }

  private tell(message: object): void {
    this.running?.stdin?.write(JSON.stringify(message) + '\n');
  }

  /** The holder's next answer about a namespace. Awaited, it keeps cnmlab alive (a kept lab's close waits for nothing else). */
  private answer(netns: string): Promise<Answer> {
    this.listening(true);
    return new Promise((resolve) => this.waiting.set(netns, [...(this.waiting.get(netns) ?? []), resolve]));
  }

  /** The holder's stdout keeps cnmlab alive while someone waits for an answer, and only then. */
  private listening(waited: boolean): void {
    const out = this.running?.stdout as unknown as { ref(): void; unref(): void } | null | undefined;
    if (waited) out?.ref();
    else if (![...this.waiting.values()].some((w) => w.length)) out?.unref();
  }

  /** A namespace stopped answers everyone waiting for it (a hold told just before its stop is never ready). */
  private answered(line: string): void {
    const [said, netns, ...why] = line.split(' ');
    const waiters = this.waiting.get(netns) ?? [];
    if (said === 'stopped') {
      this.waiting.delete(netns);
      for (const w of waiters) w({ said });
      this.listening(false);
      return;
    }
    if (said === 'failed') {
      const h = this.held.get(netns);
      if (h) h.on = false;
    }
    waiters.shift()?.(said === 'failed' ? { said, why: why.join(' ') } : { said: 'ready' });
    this.listening(false);
  }

  private lost(holder: Holder): void {
    holder.up = false;
    if (this.holder !== holder) return;
    this.holder = undefined;
    for (const h of this.held.values()) h.on = false;
    const child = holder.child!;
    for (const waiters of this.waiting.values()) for (const w of waiters) w({ said: 'failed', why: `the holder ended (${child.signalCode ?? `exit ${child.exitCode}`})` });
    this.waiting.clear();
  }

  private async stopHolding(netns: string): Promise<void> {
    const h = this.held.get(netns);
    if (!h || (!h.on && !this.starting.has(netns))) return;
    // One still starting is stopped at once (a worker's would wait up to two seconds for its manager), after its hold
    // is told: hold() tells it as soon as the holder has started, and waited for that before this did.
    await this.holder?.ready.catch(() => undefined);
    if (this.running) {
      const stopped = this.answer(netns);
      this.tell({ ns: netns, stop: true });
      await stopped;
    }
    await this.starting.get(netns)?.catch(() => undefined);
    h.on = false;
  }

  /** Stops holding a namespace's sockets before the namespace goes (a socket keeps it alive). */
  async stop(netns: string): Promise<void> {
    await this.stopHolding(netns);
    this.held.delete(netns);
  }

  async stopAll(): Promise<void> {
    const holder = this.holder;
    this.held.clear();
    if (holder?.child) await stopDaemon(this.record, holder.child);
    await holder?.ready.catch(() => undefined);
    this.holder = undefined;
  }
}
