/** The simulated kernels of all scenario hosts, changed only by plan ops. */
import { brMtuAutoAdjust } from './net/bridge/br_if';
import { expandPeers, PeerEntry, PlanOp } from '../plan/ops';
import { randomUint32, Rng, writeHexByte } from '../model/ids';
import { deferEngineCommand, iptablesCommand } from './iptables';
import { Address, Derived, KernelError, LinkType, LoggedMap, Neigh, PeerFeed, SimHost, SimLink, SimNetns, topologyChanged, VxlanFdbEntry } from './objects';
import { forwardingScope, writeForwarding } from './net/ipv4/devinet';
import { stackedDevice } from './net/stacked';
import { moduleLinkType } from './net/rtnetlink';
import { isStackedKind } from '../plan/links';
import { applyProgramOp, ProgramKernel } from './program_registry';
import './program_index';

/** net.ipv6.conf.{all,default}.disable_ipv6, by key. */
const DISABLE_IPV6: ReadonlyMap<string, 'all' | 'default'> = new Map([['net.ipv6.conf.all.disable_ipv6', 'all'], ['net.ipv6.conf.default.disable_ipv6', 'default']]);

/** `a.b.c.d/n` as a device's address. */
function cidrAddress(cidr: string): Address {
  const slash = cidr.indexOf('/');
  return slash < 0 ? { ip: cidr, prefixLength: NaN } : { ip: cidr.slice(0, slash), prefixLength: Number(cidr.slice(slash + 1)) };
}

/** Where the device holds `ip` among its addresses; -1 when it does not. */
function addressAt(l: SimLink, ip: string): number {
  for (let i = 0; i < l.addrs.length; i++) if (l.addrs[i].ip === ip) return i;
  return -1;
}

/** A MAC's text, written byte by byte by randomMac: a big swarm makes a great many devices. */
const macText = Buffer.from('00:00:00:00:00:00', 'latin1');

function macByte(at: number, b: number): void {
  writeHexByte(macText, at * 3, b);
}

/**
 * One of the engine's own iptables commands: one the model got wrong is a bug, not a
 * scenario's error. libnetwork deletes a rule only after `iptables -C` found it, so a rule a
 * scenario's command already took away is skipped, not refused.
 */
function engineIptables(ns: SimNetns, args: readonly string[]): void {
  const r = iptablesCommand(ns, args);
  if (r.exitCode !== 0 && !(args.includes('-D') && r.exitCode === 1)) throw new KernelError(`${ns.host.name}/${ns.name}: iptables ${args.join(' ')}: ${r.stderr.trim()}`);
}

export class SimKernel implements ProgramKernel {
  readonly hosts = new Map<string, SimHost>();
  /** Underlay interfaces by IP: the shared L2 segment the hosts meet on. */
  readonly underlay = new Map<string, SimLink>();
  /** The same interfaces by MAC: where the segment delivers a unicast frame. */
  readonly underlayByMac = new Derived(() => new Map([...this.underlay.values()].map((l) => [l.mac, l])));
  /** MACs the segment's switch learned behind a host's port that are no host interface's own (a macvlan's). */
  readonly segmentLearned = new Map<string, SimLink>();
  /** The cluster's key-value store (etcd's v3 keyspace), as the control planes' writes left it. */
  readonly store = new Map<string, string>();
  private readonly rng: Rng;
  /** Virtual time, as the datapath's event queue keeps it (0 until one is attached). */
  clock: { readonly now: number } = { now: 0 };

  constructor(readonly seed: number) {
    this.rng = { rng: seed ^ 0x5eed };
  }

  /**
   * A random locally administered unicast MAC, as the kernel gives new devices: the first six
   * bytes of two draws, big-endian (as hexId(12) reads them), written as text in one place.
   */
  randomMac(): string {
    const hi = randomUint32(this.rng), lo = randomUint32(this.rng);
    macByte(0, ((hi >>> 24) & 0xfe) | 0x02);
    macByte(1, (hi >>> 16) & 0xff);
    macByte(2, (hi >>> 8) & 0xff);
    macByte(3, hi & 0xff);
    macByte(4, lo >>> 24);
    macByte(5, (lo >>> 16) & 0xff);
    return macText.toString('latin1');
  }

  /** The clock each host's kernel reads, made once: an arrow function in apply would make every call of it allocate a context for `this`. */
  private readonly now = (): number => this.clock.now;

  /** The namespace the previous op named: a step's ops come in runs on one namespace. */
  private recent?: SimNetns;

  netns(host: string, name: string): SimNetns {
    const r = this.recent;
    if (r && !r.deleted && r.name === name && r.host.name === host) return r;
    const ns = this.hosts.get(host)?.namespaces.get(name);
    if (!ns) throw new KernelError(`${host}: no network namespace ${name}`);
    return (this.recent = ns);
  }

  link(host: string, netns: string, name: string): SimLink {
    const l = this.netns(host, netns).links.get(name);
    if (!l) throw new KernelError(`${host}/${netns}: no device ${name}`);
    return l;
  }

  private addNetns(host: SimHost, name: string): SimNetns {
    if (host.namespaces.has(name)) throw new KernelError(`${host.name}: network namespace ${name} exists`);
    const ns = new SimNetns(name, host);
    host.namespaces.set(name, ns);
    ns.links.set('lo', new SimLink(1, 'lo', 'loopback', '00:00:00:00:00:00', 65536, ns));
    ns.links.get('lo')!.addrs.push({ ip: '127.0.0.1', prefixLength: 8 });
    return ns;
  }

  /** A device with `mac` set, or else `drawnMac` (or a new random one) as the kernel's own. */
  newLink(ns: SimNetns, name: string, type: LinkType, mtu = 1500, mac?: string, drawnMac?: string): SimLink {
    if (ns.links.has(name)) throw new KernelError(`${ns.host.name}/${ns.name}: device ${name} exists`);
    const l = new SimLink(ns.allocIfindex(), name, type, mac ?? drawnMac ?? this.randomMac(), mtu, ns);
    if (mac) l.explicitMac = true;
    ns.links.set(name, l);
    return l;
  }

  private deleteLink(l: SimLink): void {
    l.vxlan?.peerFeed?.leave(l);
    // A lower device takes its stacked devices with it (macvlan_device_event, ipvlan_device_event: NETDEV_UNREGISTER).
    for (const v of [...(l.rxHandler?.uppers ?? [])]) this.deleteLink(v);
    // A module's device (an Open vSwitch datapath's) lets go of what it held and names the devices it takes with it.
    for (const v of moduleLinkType(l.type)?.dellink?.(l) ?? []) this.deleteLink(v);
    l.stacked?.unlink(l);
    const ns = l.netns;
    ns.links.delete(l.name);
    if (l.master) {
      l.master.ports.delete(l);
      l.master.portsChanged = true;
    }
    for (const p of l.ports) p.master = undefined;
    for (const [mac, e] of [...(l.master?.fdb ?? [])]) if (e.port === l) l.master!.fdb.delete(mac);
    if (l.master) brMtuAutoAdjust(l.master);
    ns.neigh.deleteDevice(l.name);
    for (let i = ns.routes.length - 1; i >= 0; i--) if (ns.routes[i].dev === l.name) ns.routes.splice(i, 1);
    if (l.type === 'underlay') for (const a of l.addrs) this.underlay.delete(a.ip);
    if (l.peer) {
      const p = l.peer;
      l.peer = undefined;
      p.peer = undefined;
      this.deleteLink(p);
    }
  }

  apply(op: PlanOp): void {
    topologyChanged();
    switch (op.op) {
      case 'host.add': {
        if (this.hosts.has(op.host)) throw new KernelError(`host ${op.host} exists`);
        const host = new SimHost(op.host, this.now);
        this.hosts.set(op.host, host);
        const ns = this.addNetns(host, op.host);
        ns.links.get('lo')!.up = true;
        const eth = this.newLink(ns, op.iface, 'underlay');
        const address = cidrAddress(op.address);
        eth.addrs.push(address);
        eth.up = true;
        this.underlay.set(address.ip, eth);
        return;
      }
      case 'netns.add':
        this.addNetns(this.hostOf(op.host), op.netns);
        return;
      case 'netns.del': {
        const ns = this.netns(op.host, op.netns);
        for (const l of [...ns.links.values()]) if (ns.links.has(l.name)) this.deleteLink(l);
        ns.host.namespaces.delete(op.netns);
        ns.deleted = true;
        return;
      }
      case 'link.add': {
        const ns = this.netns(op.host, op.netns);
        const k = op.kind;
        const made: SimLink[] = [];
        if (k.type === 'veth') {
          // veth_newlink registers the peer first: it takes the lower ifindex (eth0 15, its peer 16).
          // The MACs are drawn in the order the ends are named, as before.
          const aMac = op.mac ?? this.randomMac();
          const b = this.newLink(ns, k.peer, 'veth', op.mtu);
          const a = this.newLink(ns, op.name, 'veth', op.mtu, op.mac, aMac);
          a.peer = b;
          b.peer = a;
          made.push(a, b);
        } else if (k.type === 'bridge' || k.type === 'dummy') {
          made.push(this.newLink(ns, op.name, k.type, op.mtu, op.mac));
        } else if (isStackedKind(k)) {
          // A device on a lower one (rtnl_newlink with IFLA_LINK): its MTU is the lower's unless given, and its kind's newlink ties them.
          const lower = this.link(op.host, op.netns, k.parent);
          const device = stackedDevice(k.type);
          const dev = this.newLink(ns, op.name, k.type, op.mtu ?? lower.mtu, op.mac, device.lowerMac ? lower.mac : undefined);
          try {
            device.newlink(dev, lower, k);
          } catch (e) {
            // A device whose lower refuses it (EBUSY from the rx_handler slot) was never registered: not left behind, and its index not spent.
            this.deleteLink(dev);
            ns.unreserveIfindex(dev.ifindex);
            throw e;
          }
          made.push(dev);
        } else if (k.type === 'ipip') {
          // An ipip device has no link-layer address.
          made.push(this.newLink(ns, op.name, 'ipip', op.mtu, undefined, '00:00:00:00:00:00'));
        } else {
          const l = this.newLink(ns, op.name, 'vxlan', op.mtu, op.mac);
          const { type: _t, ...attrs } = k;
          l.vxlan = { ...attrs, fdb: new LoggedMap(), linkNetns: ns };
          made.push(l);
        }
        if (op.txqueuelen !== undefined) for (const l of made) l.txqueuelen = op.txqueuelen;
        return;
      }
      case 'link.del':
        this.deleteLink(this.link(op.host, op.netns, op.name));
        return;
      case 'sysctl.set': {
        // Docker sets disable_ipv6 twice in every sandbox: those keys are looked up, not matched.
        const ipv6 = DISABLE_IPV6.get(op.key);
        if (ipv6 === undefined && this.deviceSysctl(op)) return;
        const ns = this.netns(op.host, op.netns);
        const forwarding = ipv6 === undefined ? forwardingScope(ns, op.key.split('.')) : undefined;
        if ((!forwarding && !ipv6) || forwarding === 'missing' || (op.value !== '0' && op.value !== '1')) throw new KernelError(`sysctl ${op.key}=${op.value} is not modelled`);
        if (forwarding) writeForwarding(ns, forwarding, Number(op.value));
        else ns.ipv6Disabled[ipv6!] = op.value === '1';
        return;
      }
      case 'iptables': {
        const ns = this.netns(op.host, op.netns);
        // A host's own tables are walked by every packet it forwards; a namespace of its
        // containers' (their resolver's chains) waits until something reads its tables.
        if (ns === ns.host.rootNetns) engineIptables(ns, op.args);
        else deferEngineCommand(ns, op.args, engineIptables);
        return;
      }
      case 'link.move': {
        const l = this.link(op.host, op.netns, op.name);
        l.vxlan?.peerFeed?.leave(l);
        const to = this.netns(op.host, op.to);
        if (to.links.has(l.name)) throw new KernelError(`${op.host}/${op.to}: device ${l.name} exists`);
        l.netns.links.delete(l.name);
        // dev_change_net_namespace keeps the index unless the namespace has a device with it.
        if (to.ifindexTaken(l.ifindex)) l.ifindex = to.allocIfindex();
        to.movedIn(l);
        l.netns = to;
        // Moving a device takes it down and drops its addresses, as Linux does; its IPv4
        // settings are made anew in the namespace it lands in (inetdev_init copies the default).
        l.up = false;
        l.addrs.length = 0;
        l.ipv4Forwarding = to.ipv4Forwarding.default;
        to.links.set(l.name, l);
        return;
      }
      case 'link.rename': {
        const l = this.link(op.host, op.netns, op.name);
        l.vxlan?.peerFeed?.leave(l);
        if (l.netns.links.has(op.to)) throw new KernelError(`${op.host}/${op.netns}: device ${op.to} exists`);
        l.netns.links.delete(l.name);
        l.name = op.to;
        l.netns.links.set(l.name, l);
        return;
      }
      case 'link.set': {
        const l = this.link(op.host, op.netns, op.name);
        if (op.mac) l.mac = op.mac;
        if (op.mtu) {
          l.mtu = op.mtu;
          if (l.type === 'bridge') l.mtuSetByUser = true;
          else if (l.master) brMtuAutoAdjust(l.master);
        }
        if (op.master) {
          const br = this.link(op.host, op.netns, op.master);
          if (br.type !== 'bridge') throw new KernelError(`${op.master} is not a bridge`);
          l.master = br;
          // br_add_if: the lowest port number no other port holds.
          const taken = new Set<number>();
          for (const p of br.ports) taken.add(p.portNo);
          l.portNo = 1;
          while (taken.has(l.portNo)) l.portNo++;
          l.enslavedNs = this.clock.now;
          br.ports.add(l);
          br.portsChanged = true;
          br.fdb.set(l.mac, { port: l, local: true, updatedNs: 0 });
          brMtuAutoAdjust(br);
        }
        if (op.up !== undefined) l.up = op.up;
        return;
      }
      case 'addr.add': {
        const l = this.link(op.host, op.netns, op.dev);
        const address = cidrAddress(op.address);
        if (addressAt(l, address.ip) >= 0) throw new KernelError(`${op.host}/${op.netns}: ${address.ip} exists on ${op.dev}`);
        l.addrs.push(address);
        return;
      }
      case 'addr.del': {
        const l = this.link(op.host, op.netns, op.dev);
        const ip = op.address.split('/')[0];
        const at = addressAt(l, ip);
        if (at < 0) throw new KernelError(`${op.host}/${op.netns}: no address ${ip} on ${op.dev}`);
        l.addrs.splice(at, 1);
        return;
      }
      case 'route.add': {
        const ns = this.netns(op.host, op.netns);
        this.link(op.host, op.netns, op.dev);
        ns.routes.push({ dst: op.dst, via: op.via, dev: op.dev, ...(op.proto ? { proto: op.proto } : {}), ...(op.scope ? { scope: op.scope } : {}), ...(op.onlink ? { onlink: true } : {}) });
        return;
      }
      case 'route.blackhole':
        this.netns(op.host, op.netns).routes.push({ dst: op.dst, dev: '', blackhole: true, ...(op.proto ? { proto: op.proto } : {}) });
        return;
      case 'kv.start':
        // The store is the model's; the sim has nothing to start.
        return;
      case 'miss.watch':
        this.netns(op.host, op.netns).missWatch = { host: op.host, dev: op.dev, network: op.network, subnet: op.subnet };
        return;
      case 'kv.put':
        this.store.set(op.key, op.value);
        return;
      case 'neigh.add':
        this.netns(op.host, op.netns).neigh.add(this.permanentNeigh(op.dev, op.ip, op.mac));
        return;
      case 'neigh.del':
        this.netns(op.host, op.netns).neigh.delete(op.dev, op.ip);
        return;
      case 'fdb.add': {
        const l = this.link(op.host, op.netns, op.dev);
        if (!l.vxlan) throw new KernelError(`${op.dev} is not a vxlan device`);
        l.vxlan.fdb.add(op.mac, this.permanentFdb(op.dst));
        return;
      }
      case 'peers.add':
        this.addPeers(op);
        return;
      case 'peers.del':
        for (const one of expandPeers(op)) this.apply(one);
        return;
      case 'fdb.del': {
        // libnetwork's deleteNeighbor also flushes what br0 learned for that MAC on vxlan0.
        const l = this.link(op.host, op.netns, op.dev);
        l.vxlan?.fdb.delete(op.mac);
        const learned = l.master?.fdb.get(op.mac);
        if (learned && learned.port === l && !learned.local) l.master!.fdb.delete(op.mac);
        return;
      }
      case 'file.write':
        this.netns(op.host, op.netns).files.set(op.path, op.content);
        return;
      case 'socket.listen':
        this.netns(op.host, op.netns).listening.push(op.socket);
        return;
      case 'socket.close': {
        const open = this.netns(op.host, op.netns).listening;
        const s = op.socket;
        const at = open.findIndex((o) => o.proto === s.proto && o.address === s.address && o.port === s.port);
        if (at < 0) throw new KernelError(`${op.host}/${op.netns}: no ${s.proto} socket at ${s.address}:${s.port}`);
        open.splice(at, 1);
        return;
      }
      default:
        // A program's own ops (user-space daemons, a module's datapath): its module carries them out (program_registry.ts).
        applyProgramOp(this, op);
    }
  }

  /** A peers op's entries, given to its network's feed. Not inline in apply: a closure over the op there would make every apply allocate a context for it. */
  private addPeers(op: Extract<PlanOp, { op: 'peers.add' }>): void {
    const make = { neigh: (p: PeerEntry) => this.permanentNeigh(op.dev, p.ip, p.mac), fdb: (p: PeerEntry) => this.permanentFdb(p.dst) };
    this.peerFeed(op.netns, op.dev).add(op.hosts, op.peers, make, (host) => {
      const l = this.link(host, op.netns, op.dev);
      if (!l.vxlan) throw new KernelError(`${op.dev} is not a vxlan device`);
      return l;
    });
  }

  /** net.ipv4.conf.DEV.proxy_arp and net.ipv4.neigh.DEV.proxy_delay; false for any other key. */
  private deviceSysctl(op: Extract<PlanOp, { op: 'sysctl.set' }>): boolean {
    const m = /^net\.ipv4\.(conf\.([^.]+)\.proxy_arp|neigh\.([^.]+)\.proxy_delay)$/.exec(op.key);
    if (!m) return false;
    const dev = this.link(op.host, op.netns, m[2] ?? m[3]);
    const value = Number(op.value);
    if (!Number.isInteger(value) || value < 0) throw new KernelError(`sysctl ${op.key}=${op.value}: not a number`);
    if (m[2]) dev.proxyArp = value !== 0;
    else dev.proxyDelay = value;
    return true;
  }

  /**
   * Entries are never changed in place, only replaced, so equal ones are shared: a swarm's
   * peer tables repeat the same entry on every host (a million of them at 1,000 hosts).
   */
  private readonly neighEntries = new Map<string, Neigh>();
  private readonly fdbEntries = new Map<string, VxlanFdbEntry>();

  /** A network's peer feed, by the namespace and the device its peers ops name (the same on every host). */
  private readonly peerFeeds = new Map<string, Map<string, PeerFeed>>();

  private peerFeed(netns: string, dev: string): PeerFeed {
    let byDev = this.peerFeeds.get(netns);
    if (!byDev) this.peerFeeds.set(netns, (byDev = new Map()));
    let feed = byDev.get(dev);
    if (!feed) byDev.set(dev, (feed = new PeerFeed()));
    return feed;
  }

  private permanentNeigh(dev: string, ip: string, mac: string): Neigh {
    let n = this.neighEntries.get(ip);
    if (n?.dev !== dev || n.mac !== mac) this.neighEntries.set(ip, (n = { ip, dev, mac, state: 'PERMANENT' }));
    return n;
  }

  private permanentFdb(dst: string): VxlanFdbEntry {
    let e = this.fdbEntries.get(dst);
    if (!e) this.fdbEntries.set(dst, (e = { dst, permanent: true }));
    return e;
  }

  private hostOf(name: string): SimHost {
    const h = this.hosts.get(name);
    if (!h) throw new KernelError(`unknown host ${name}`);
    return h;
  }
}
