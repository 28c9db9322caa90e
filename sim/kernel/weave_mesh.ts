/**
 * Weave Net's control plane on the wire, on the run's clock: the mesh's TCP connections on
 * 6783 between routers (weaveworks/mesh) and, in sleeve mode, each sleeve forwarder's contact
 * and path MTU checks (weaveworks/weave router/sleeve.go). Each connection `weave launch`
 * made in the world (who dialled whom, from which port) is played once:
 * - weave-handshake: the TCP handshake, each end's protocol header ("weave" 1 2: version 2
 *   is used), its encryption flag (0) and its features (a gob map), in the order each end
 *   can write them (an end writes the next part once it has read the other's);
 * - weave-topology-gossip: once the connection is added, each end sends its whole topology
 *   down it (sendAllGossipDown); a second later each broadcasts the update of itself and
 *   the new peer (deferTopologyUpdateDuration, one update for the changes of that second);
 *   and every 30 s from its start (gossipInterval) each router its topology to its random
 *   neighbours (2·log2(peers), at most all of them);
 * - weave-heartbeat: each end's TCP heartbeat (tag 0) every 30 s from the connection's start;
 * - weave-sleeve-pmtu (sleeve only), per forwarder: its UDP heartbeat to the peer's 6783
 *   (the dialler knows the peer's address; the other learns it from that heartbeat), the
 *   peer's ConnectionEstablished on TCP, the fragmentation test
 *   (a 60001-byte frame without DF, which the kernel fragments) and its acknowledgement, then
 *   path MTU discovery: a 60000-byte frame with DF fails locally (EMSGSIZE) with the route's
 *   MTU, the MTU less sleeve's 62 bytes is the candidate, a frame of that size goes with DF
 *   and the peer reports it on TCP (PMTUVerified): the forwarder's MTU for the data plane.
 * The two forwarders of a connection run their checks one after the other here (in weave
 * they run at once); the gossip of other channels (IPAM's, DNS's) and fastdp's own heartbeats
 * are not modelled. Features, topology and control messages are real gob and mesh framing
 * (sim/wire/gob.ts, weave_mesh.ts); TCP segments as dockerd_cluster.ts's connection sends them.
 */
import type { Datapath } from './datapath';
import type { SimKernel } from './kernel';
import type { SimNetns } from './objects';
import type { Skb } from './net/skb';
import type { World, WeavePeer } from '../model/world';
import type { Flow } from '../trace/types';
import { DELAYED_ACK_NS, Random, TcpConnection } from './dockerd_cluster';
import { TCP_ACK, TCP_PSH, TCP_SYN } from '../wire/tcp';
import { IPPROTO_UDP } from '../wire/ipv4';
import { emitUdp } from '../wire/udp';
import { GobTypeIds } from '../wire/gob';
import { emitFeatures, emitGossip, emitLengthPrefixed, emitMeshHeader, emitProtocolMessage, emitTopology, MESH_MAX_VERSION, MESH_MIN_VERSION, MESH_PORT, MESH_TAG, PeerSummary, TOPOLOGY_CHANNEL } from '../wire/weave_mesh';
import { emitSleeve } from '../wire/sleeve';
import { ETHERNET_HEADER_LEN } from '../wire/ethernet';
import { SLEEVE_DEFAULT_MTU, SLEEVE_DF_OVERHEAD, SleeveForwarder, UDP_OVERHEAD, weaveRouterIn } from './weaver';
import { pathMtu, route } from './net/ipv4/route';
import type { ControlRecord } from '../trace/control_record';
import { registerControlPlane } from './program_registry';

const GOSSIP_INTERVAL_NS = 30_000_000_000;
const TCP_HEARTBEAT_NS = 30_000_000_000;
const DEFER_TOPOLOGY_UPDATE_NS = 1_000_000_000;
const FRAG_TEST_SIZE = 60001;
const PMTU_DISCOVERY_SIZE = 60000;
/** What the launch step waits for at most: the handshake, the first gossip and the MTU checks take milliseconds. */
const SETUP_BUDGET_NS = 500_000_000;

/** One router as the mesh knows it. */
interface MeshPeer {
  peer: WeavePeer;
  ns: SimNetns;
  uid: bigint;
  /** Its version in the topology: one more with each connection added. */
  version: bigint;
  /** This process's gob type numbering. */
  ids: GobTypeIds;
  /** A topology update is waiting out deferTopologyUpdateDuration (updates within it go as one). */
  updatePending: boolean;
}

type Side = 'client' | 'server';

interface MeshConnection {
  key: string;
  dialler: MeshPeer;
  listener: MeshPeer;
  sourcePort: number;
  conn: TcpConnection;
  connId: bigint;
  established: boolean;
}

export class WeaveMeshControl {
  private readonly peers = new Map<string, MeshPeer>();
  private readonly connections = new Map<string, MeshConnection>();
  private readonly rnd: Random;
  /** Exchanges of the connections being set up that have not finished. */
  private settingUp = 0;

  /** `record` holds the exchanges the trace keeps, within its bound, and counts the rest (shared with dockerd's). */
  constructor(private readonly dp: Datapath, private readonly kernel: SimKernel, seed: number, private readonly record: ControlRecord) {
    this.rnd = new Random((seed ^ 0x6783_6784) >>> 0);
  }

  /** The world after a step: a router launched gets its peer state; a connection made is played at once, the clock run until it is set up. */
  observe(world: World): void {
    const mesh = world.weave;
    if (!mesh) return;
    for (const [host, known] of this.peers) if (mesh.peers[host]?.name !== known.peer.name) this.peers.delete(host);
    for (const [key, c] of this.connections) {
      if (this.peers.get(c.dialler.peer.host) === c.dialler && this.peers.get(c.listener.peer.host) === c.listener && mesh.connections.some((m) => `${m.from}>${m.to}` === key)) continue;
      c.conn.close();
      this.connections.delete(key);
    }
    for (const p of Object.values(mesh.peers)) {
      const known = this.peers.get(p.host);
      if (known) known.peer = p;
      else {
        const ns = this.kernel.hosts.get(p.host)?.rootNetns;
        if (!ns) continue;
        const self: MeshPeer = { peer: p, ns, uid: (BigInt(this.rnd.next()) << 32n) | BigInt(this.rnd.next()), version: 1n, ids: new GobTypeIds(), updatePending: false };
        this.peers.set(p.host, self);
        // The local peer's gossip ticker (time.Tick(gossipInterval)) runs from the router's start.
        this.every(() => this.peers.get(p.host) === self, GOSSIP_INTERVAL_NS, () => this.gossipTo(self));
      }
    }
    let started = false;
    for (const c of mesh.connections) {
      const key = `${c.from}>${c.to}`;
      const dialler = this.peers.get(c.from), listener = this.peers.get(c.to);
      if (this.connections.has(key) || !dialler || !listener) continue;
      this.handshake(key, dialler, listener, c.sourcePort);
      started = true;
    }
    if (!started) return;
    const start = this.dp.clock.now;
    this.dp.clock.runUntil(start + SETUP_BUDGET_NS, () => this.settingUp === 0);
  }

  private features(self: MeshPeer, c: MeshConnection): [string, string][] {
    const p = self.peer;
    return [
      ['PeerNameFlavour', 'mac'], ['Name', p.name], ['NickName', p.nickname], ['ShortID', String(p.shortId)], ['UID', String(self.uid)],
      ['ConnID', String(c.connId)], ['Trusted', 'false'], ['Overlays', p.datapath === 'fastdp' ? 'fastdp sleeve' : 'sleeve'],
    ];
  }

  /** mesh's doIntro: header, flag, features, each end writing its next part once it has read the other's. */
  private handshake(key: string, dialler: MeshPeer, listener: MeshPeer, sourcePort: number): void {
    const conn = new TcpConnection(this.dp, {
      client: { ns: dialler.ns, ip: dialler.peer.address, port: sourcePort },
      server: { ns: listener.ns, ip: listener.peer.address, port: MESH_PORT },
    }, this.rnd);
    const c: MeshConnection = { key, dialler, listener, sourcePort, conn, connId: BigInt(this.rnd.next()), established: false };
    this.connections.set(key, c);
    this.settingUp++;
    // Past the trace's bound the connection is made all the same, only not played.
    if (!this.record.keeps('weave-handshake')) return this.added(c);
    const flow = this.record.flow('weave-handshake', dialler.peer.host, listener.peer.host);
    const send = (side: Side, flags: number, data?: Uint8Array, then?: () => void) => conn.send(side, flags, data, then, flow);
    const header = emitMeshHeader({ minVersion: MESH_MIN_VERSION, maxVersion: MESH_MAX_VERSION });
    const noCrypto = Buffer.of(0);
    send('client', TCP_SYN, undefined, () =>
      send('server', TCP_SYN | TCP_ACK, undefined, () => {
        send('client', TCP_ACK);
        send('client', TCP_PSH | TCP_ACK, header, () => {
          send('server', TCP_PSH | TCP_ACK, header);
          send('server', TCP_PSH | TCP_ACK, noCrypto, () => {
            send('client', TCP_PSH | TCP_ACK, noCrypto);
            send('client', TCP_PSH | TCP_ACK, emitLengthPrefixed(emitFeatures(dialler.ids, this.features(dialler, c))), () =>
              send('server', TCP_PSH | TCP_ACK, emitLengthPrefixed(emitFeatures(listener.ids, this.features(listener, c))), () => this.added(c)));
          });
        });
      }));
  }

  /** Both ends added the connection: each sends its topology down it, then (sleeve) the forwarders make contact. */
  private added(c: MeshConnection): void {
    c.established = true;
    c.dialler.version++;
    c.listener.version++;
    const { conn, dialler, listener } = c;
    if (this.record.keeps('weave-topology-gossip')) {
      const flow = this.record.flow('weave-topology-gossip', dialler.peer.host, listener.peer.host);
      conn.send('client', TCP_PSH | TCP_ACK, this.topologyMessage(dialler), () =>
        conn.send('server', TCP_PSH | TCP_ACK, this.topologyMessage(listener), () =>
          this.later(DELAYED_ACK_NS, () => {
            conn.send('client', TCP_ACK, undefined, undefined, flow);
            this.afterSetup(c);
          }), flow), flow);
    } else {
      this.afterSetup(c);
    }
    this.broadcastPeerUpdate(dialler);
    this.broadcastPeerUpdate(listener);
    // Each end's heartbeat ticker (time.NewTicker(tcpHeartbeat)) starts as the connection runs.
    const open = () => this.connections.get(c.key) === c;
    this.every(open, TCP_HEARTBEAT_NS, () => this.heartbeat(c, 'client'));
    this.every(open, TCP_HEARTBEAT_NS, () => this.heartbeat(c, 'server'));
  }

  /** broadcastPeerUpdate: the peer's topology goes to its random neighbours a second later, once for every change within that second. */
  private broadcastPeerUpdate(self: MeshPeer): void {
    if (self.updatePending) return;
    self.updatePending = true;
    this.later(DEFER_TOPOLOGY_UPDATE_NS, () => {
      self.updatePending = false;
      if (this.peers.get(self.peer.host) === self) this.gossipTo(self);
    });
  }

  private afterSetup(c: MeshConnection): void {
    const sleeve = c.dialler.peer.datapath === 'sleeve' || c.listener.peer.datapath === 'sleeve';
    if (!sleeve) {
      this.settingUp--;
      return;
    }
    this.contact(c, 'client', () => this.contact(c, 'server', () => this.settingUp--));
  }

  /** The whole topology as `self` knows it: every peer connected to the mesh, with its connections. */
  private topology(): PeerSummary[] {
    return [...this.peers.values()].map((p) => ({
      name: p.peer.name, nickname: p.peer.nickname, uid: p.uid, version: p.version, shortId: p.peer.shortId,
      connections: [...this.connections.values()].filter((c) => c.established && (c.dialler === p || c.listener === p)).map((c) => {
        const outbound = c.dialler === p, other = outbound ? c.listener : c.dialler;
        return { name: other.peer.name, remoteTcpAddr: `${other.peer.address}:${outbound ? MESH_PORT : c.sourcePort}`, outbound, established: true };
      }),
    }));
  }

  private topologyMessage(self: MeshPeer): Buffer {
    return emitProtocolMessage(MESH_TAG.gossip, emitGossip(self.ids, { channel: TOPOLOGY_CHANNEL, sender: self.peer.name, data: emitTopology(self.ids, this.topology()) }));
  }

  /** gossipChannel.Send: the topology to the peer's random neighbours, each on its connection, acked late. */
  private gossipTo(self: MeshPeer): void {
    const mine = [...this.connections.values()].filter((c) => c.established && (c.dialler === self || c.listener === self));
    const needed = Math.min(Math.floor(2 * Math.log2(this.peers.size)), mine.length);
    for (const c of this.rnd.shuffled(mine).slice(0, needed)) {
      if (!this.record.keeps('weave-topology-gossip')) continue;
      const side = c.dialler === self ? 'client' : 'server', other = side === 'client' ? 'server' : 'client';
      const flow = this.record.flow('weave-topology-gossip', self.peer.host, (side === 'client' ? c.listener : c.dialler).peer.host);
      c.conn.send(side, TCP_PSH | TCP_ACK, this.topologyMessage(self), () => this.later(DELAYED_ACK_NS, () => c.conn.send(other, TCP_ACK, undefined, undefined, flow, side)), flow, side);
    }
  }

  /** The connection's TCP heartbeat from one end, acked late by the other. */
  private heartbeat(c: MeshConnection, side: Side): void {
    const from = side === 'client' ? c.dialler : c.listener, to = side === 'client' ? c.listener : c.dialler;
    if (!this.record.keeps('weave-heartbeat')) return;
    const flow = this.record.flow('weave-heartbeat', from.peer.host, to.peer.host);
    c.conn.send(side, TCP_PSH | TCP_ACK, emitProtocolMessage(MESH_TAG.heartbeat), () => this.later(DELAYED_ACK_NS, () => c.conn.send(side === 'client' ? 'server' : 'client', TCP_ACK, undefined, undefined, flow, side)), flow, side);
  }

  private later(delayNs: number, fn: () => void): void {
    this.dp.clock.schedule(delayNs, fn);
  }

  /** A ticker of `interval`, from now, while `alive` says its owner is still in the world. */
  private every(alive: () => boolean, interval: number, fire: () => void): void {
    const tick = () => {
      if (!alive()) return;
      fire();
      this.later(interval, tick);
    };
    this.later(interval, tick);
  }

  // ── sleeve: a forwarder's contact and path MTU ───────────────────────────────

  /** One sleeve datagram to the peer's 6783 from this router's: its name, then one special frame (zero MACs: weave's own). */
  private sendSpecial(from: MeshPeer, to: MeshPeer, frame: Uint8Array, df: boolean, flow: Flow, dir: Skb['dir']): string | undefined {
    const payload = emitSleeve({ sender: from.peer.name, frames: [{ srcPeer: from.peer.name, dstPeer: to.peer.name, frame: Buffer.from(frame) }] });
    const src = from.peer.address, dst = to.peer.address;
    // The DF sender is a raw socket that leaves the checksum out; the UDP socket's datagrams carry one.
    const udp = emitUdp({ srcPort: MESH_PORT, dstPort: MESH_PORT }, payload, df ? undefined : { src, dst });
    return this.dp.ipSend(from.ns, { src, dst, protocol: IPPROTO_UDP, ttl: 64, id: this.dp.nextIpId(), tos: 0, dontFragment: df, moreFragments: false, fragmentOffset: 0 }, udp, flow, dir);
  }

  /**
   * The forwarder of `side`'s end: heartbeat, ConnectionEstablished, fragmentation test and
   * its ack, then the MTU found and verified; the router's forwarder takes the verified MTU.
   */
  private contact(c: MeshConnection, side: Side, done: () => void): void {
    const self = side === 'client' ? c.dialler : c.listener, peer = side === 'client' ? c.listener : c.dialler;
    const other = side === 'client' ? 'server' : 'client';
    const router = weaveRouterIn(self.ns), remote = weaveRouterIn(peer.ns);
    if (!router || !remote) return done();
    const fwd: SleeveForwarder = { mtu: SLEEVE_DEFAULT_MTU, maxPayload: SLEEVE_DEFAULT_MTU - UDP_OVERHEAD, contact: false, stackFrag: false };
    router.forwarders.set(peer.peer.name, fwd);
    if (!this.record.keeps('weave-sleeve-pmtu')) {
      // Past the trace's bound the checks come out as they would on the wire: contact, fragments pass, the route's MTU less sleeve's share.
      const r = route(self.ns, peer.peer.address);
      const underlay = r && !r.local ? pathMtu(self.ns, peer.peer.address, r.dev, this.dp.clock.now) : SLEEVE_DEFAULT_MTU;
      Object.assign(fwd, { contact: true, stackFrag: true, mtu: underlay - SLEEVE_DF_OVERHEAD, maxPayload: underlay - UDP_OVERHEAD });
      return done();
    }
    const flow = this.record.flow('weave-sleeve-pmtu', self.peer.host, peer.peer.host);
    const heartbeat = Buffer.alloc(ETHERNET_HEADER_LEN + 8);
    heartbeat.writeBigUInt64BE(BigInt.asUintN(64, c.connId), ETHERNET_HEADER_LEN);
    const control = (tag: number, payload?: Uint8Array, then?: () => void) => c.conn.send(other, TCP_PSH | TCP_ACK, emitProtocolMessage(tag, payload), then, flow, side);
    remote.onSpecial.set(self.peer.name, (frame) => {
      if (frame.length === ETHERNET_HEADER_LEN + 8) {
        // handleHeartbeat: contact; the peer tells this end on TCP.
        control(MESH_TAG.connectionEstablished, undefined, () => {
          fwd.contact = true;
          this.sendSpecial(self, peer, Buffer.alloc(FRAG_TEST_SIZE), false, flow, 'request');
        });
      } else if (frame.length === FRAG_TEST_SIZE) {
        control(MESH_TAG.fragmentationReceived, undefined, () => {
          fwd.stackFrag = true;
          this.discoverMtu(self, peer, fwd, flow);
        });
      } else {
        const mtu = frame.length - ETHERNET_HEADER_LEN;
        control(MESH_TAG.pmtuVerified, Buffer.of(mtu >> 8, mtu & 0xff), () => {
          // searchMTU: the candidate verified, nothing between it and the lowest bad size.
          fwd.mtu = mtu;
          fwd.maxPayload = mtu + SLEEVE_DF_OVERHEAD - UDP_OVERHEAD;
          remote.onSpecial.delete(self.peer.name);
          this.later(DELAYED_ACK_NS, () => {
            c.conn.send(side, TCP_ACK, undefined, undefined, flow, side);
            done();
          });
        });
      }
    });
    this.sendSpecial(self, peer, heartbeat, true, flow, 'request');
  }

  /** handleHeartbeatAck's probe: a frame too big for any path, with DF: the local refusal gives the route's MTU, whose sleeve share is tried. */
  private discoverMtu(self: MeshPeer, peer: MeshPeer, fwd: SleeveForwarder, flow: Flow): void {
    const refused = this.sendSpecial(self, peer, Buffer.alloc(PMTU_DISCOVERY_SIZE), true, flow, 'request');
    const underlayPmtu = Number(/mtu=(\d+)/.exec(refused ?? '')?.[1] ?? 0);
    if (!underlayPmtu) return;
    // processSendError: the candidate is what fits once the IP, UDP and sleeve headers and the frame's Ethernet header are taken off.
    const candidate = underlayPmtu - SLEEVE_DF_OVERHEAD;
    fwd.mtu = candidate;
    fwd.maxPayload = underlayPmtu - UDP_OVERHEAD;
    this.sendSpecial(self, peer, Buffer.alloc(candidate + ETHERNET_HEADER_LEN), true, flow, 'request');
  }
}

registerControlPlane('weave-mesh', (dp, kernel, seed, record) => new WeaveMeshControl(dp, kernel, seed, record), { rank: 10 });
