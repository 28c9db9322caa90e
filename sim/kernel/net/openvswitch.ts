/**
 * net/openvswitch: the Open vSwitch kernel datapath (ODP) as Weave Net's fast datapath uses
 * it. A datapath has vports (netdevs such as vethwe-datapath, and a vxlan device in
 * external mode, vxlan-6784) and a flow table its user-space controller fills. A frame a
 * vport receives is looked up by its key (ovs_flow_tbl_lookup): a flow's actions run in the
 * kernel (ovs_execute_actions); a miss goes up to the controller (ovs_dp_upcall), which
 * decides, installs a flow and has the kernel execute its actions on the frame.
 *
 * The key here holds what weave's flows match: the input port, the tunnel it came by (id
 * and source), and the Ethernet addresses.
 */
import type { Datapath } from '../datapath';
import { KernelError, LoggedMap, RxHandler, SimLink, SimNetns, TunnelKey } from '../objects';
import { programIn, registerProgramOp, setProgram } from '../program_registry';
import { registerLinkType } from './rtnetlink';
import { macToString } from '../../wire/addr';
import { IPPROTO_UDP, IPV4_MIN_HEADER_LEN, Ipv4Repr } from '../../wire/ipv4';
import { UDP_HEADER_LEN, writeUdpHeader } from '../../wire/udp';
import { VXLAN_FLAG_I, VXLAN_HEADER_LEN, writeVxlanHeader } from '../../wire/vxlan';
import { Skb } from './skb';
import { devXmit, netdevRxHandlerRegister, netdevRxHandlerUnregister } from './dev';
import { pathMtu, route } from './ipv4/route';
import { ipTransmit, newDatagram, NO_OPTIONS } from './ipv4/ip_output';
import { resolvedNeigh } from './neighbour';
import { vxlanSourcePort } from './vxlan';
import type { NetDeviceOps } from './dev';

declare module '../objects' {
  interface RegisteredLinkTypes {
    /** A datapath's internal device (its local port, OVSP_LOCAL). */
    openvswitch: true;
  }
}

declare module '../program_registry' {
  interface RegisteredPrograms {
    /** The namespace's datapaths (ovs_net), by their internal device. */
    openvswitch: Map<SimLink, OdpDatapath>;
  }
  interface RegisteredProgramOps {
    'odp.datapath': true;
    'odp.vport': true;
  }
}

export type OdpAction =
  /** OVS_ACTION_ATTR_SET(OVS_KEY_ATTR_TUNNEL): what the next output to a tunnel vport wraps the frame in. */
  | { type: 'set_tunnel'; id: number; src: string; dst: string; ttl: number; df: boolean; csum: boolean }
  /** OVS_ACTION_ATTR_OUTPUT: a copy to a vport (by its device's name). */
  | { type: 'output'; port: string };

/** The controller's answer to a miss: the actions to run on the frame and install as its flow. */
export type Upcall = (dp: Datapath, odp: OdpDatapath, inPort: SimLink, skb: Skb, tunnel: TunnelKey | undefined) => OdpAction[] | undefined;

export class OdpDatapath {
  readonly flows = new Map<string, OdpAction[]>();
  /** Its user-space controller (weaver), which takes misses. */
  upcall?: Upcall;

  constructor(readonly dev: SimLink) {}

  vport(name: string): SimLink | undefined {
    const l = this.dev.netns.links.get(name);
    return l !== undefined && datapathOfVport(l) === this ? l : undefined;
  }
}

/**
 * A vport on a device (netdev_frame_hook and its vport, the device's rx_handler and its
 * data): every frame the device receives goes to the datapath; a tunnel vport's come with
 * the tunnel its device read off the outer headers.
 */
class OdpVport implements RxHandler {
  readonly takesAll = true;
  readonly slaveKind = 'openvswitch';

  /** `tunnel`: the datapath made the device (a vxlan vport), and deletes it as the port goes. */
  constructor(readonly datapath: OdpDatapath, readonly tunnel: boolean) {}

  get upper(): SimLink {
    return this.datapath.dev;
  }

  rx(dp: Datapath, dev: SimLink, skb: Skb, tunnel?: TunnelKey): boolean {
    odpReceive(dp, this.datapath, dev, skb, tunnel);
    return true;
  }

  ucPromisc(): boolean {
    return false;
  }
}

/** The datapath a device is a vport of, if it is one. */
export function datapathOfVport(dev: SimLink): OdpDatapath | undefined {
  const rx = dev.rxHandler;
  return rx instanceof OdpVport ? rx.datapath : undefined;
}

/** The datapath whose internal device `dev` is. */
function datapathOf(dev: SimLink): OdpDatapath | undefined {
  return programIn(dev.netns, 'openvswitch')?.get(dev);
}

/** The internal device: what the host sends through it enters the datapath by its own port. */
const odpInternalOps: NetDeviceOps = {
  xmit(dp, dev, skb) {
    const odp = datapathOf(dev);
    if (odp) odpReceive(dp, odp, dev, skb);
  },
};

/**
 * The datapath goes with its internal device (__dp_destroy): each vport is detached
 * (ovs_dp_detach_port), a netdev's giving its device's rx_handler slot back
 * (ovs_netdev_detach_dev) and a tunnel's device, which the datapath made, deleted with it
 * (ovs_netdev_tunnel_destroy).
 */
function odpDestroy(dev: SimLink): SimLink[] {
  const odp = datapathOf(dev);
  if (!odp) return [];
  programIn(dev.netns, 'openvswitch')!.delete(dev);
  const tunnels: SimLink[] = [];
  for (const l of dev.netns.links.values()) {
    const vport = l.rxHandler;
    if (!(vport instanceof OdpVport) || vport.datapath !== odp) continue;
    netdevRxHandlerUnregister(l, vport);
    if (vport.tunnel) tunnels.push(l);
  }
  return tunnels;
}
registerLinkType('openvswitch', { ops: odpInternalOps, noOperstate: true, dellink: odpDestroy }, { rank: 10 });

/** ovs_dp_cmd_new: a datapath and its internal device. */
registerProgramOp('odp.datapath', (kernel, op) => {
  const ns = kernel.netns(op.host, op.netns);
  const dev = kernel.newLink(ns, op.name, 'openvswitch');
  datapathsIn(ns).set(dev, new OdpDatapath(dev));
});

/** ovs_vport_cmd_new: an existing device becomes a vport (its rx_handler the datapath's), or a VXLAN tunnel port is made. */
registerProgramOp('odp.vport', (kernel, op) => {
  const ns = kernel.netns(op.host, op.netns);
  const odp = datapathOf(kernel.link(op.host, op.netns, op.datapath));
  if (!odp) throw new KernelError(`${op.datapath} is not an Open vSwitch datapath`);
  const v = op.vport;
  // A vxlan vport is a vxlan device the datapath makes in external mode, up, its MTU the most IP allows less VXLAN's headroom.
  const l = v.type === 'netdev' ? kernel.link(op.host, op.netns, v.dev) : kernel.newLink(ns, v.name, 'vxlan', 65535 - 50);
  if (v.type === 'vxlan') {
    l.vxlan = { vni: 0, dstport: v.dstport, proxy: false, l2miss: false, l3miss: false, learning: false, ageing: 300, external: true, fdb: new LoggedMap(), linkNetns: ns };
    l.up = true;
  }
  netdevRxHandlerRegister(l, new OdpVport(odp, v.type === 'vxlan'));
});

function datapathsIn(ns: SimNetns): Map<SimLink, OdpDatapath> {
  let datapaths = programIn(ns, 'openvswitch');
  if (!datapaths) setProgram(ns, 'openvswitch', (datapaths = new Map()));
  return datapaths;
}

/** The flow key of a frame on a vport (the fields weave's flows match). */
export function flowKey(inPort: SimLink, tunnel: TunnelKey | undefined, f: Uint8Array): string {
  return `${inPort.name}|${tunnel ? `${tunnel.id}@${tunnel.src}` : ''}|${macToString(f, 6)}|${macToString(f, 0)}`;
}

/** The time an upcall takes: the frame up to the controller, its decision and the flow back (netlink both ways). */
const UPCALL_NS = 50_000;

/** ovs_vport_receive and ovs_dp_process_packet: a frame a vport received, matched against the flow table. */
function odpReceive(dp: Datapath, odp: OdpDatapath, inPort: SimLink, skb: Skb, tunnel?: TunnelKey): void {
  const key = flowKey(inPort, tunnel, skb.frame);
  const actions = odp.flows.get(key);
  if (actions) {
    dp.trace.odpFlow(odp.dev, skb, tunnel !== undefined, true);
    return odpExecute(dp, odp, actions, skb);
  }
  const upcall = odp.upcall;
  if (!upcall) return dp.trace.drop(skb, odp.dev, 'flow miss, no controller');
  dp.clock.schedule(UPCALL_NS + skb.lag, () => {
    const decided = upcall(dp, odp, inPort, skb, tunnel);
    if (!decided) return;
    dp.trace.odpFlow(odp.dev, skb, tunnel !== undefined, false);
    odp.flows.set(key, decided);
    skb.lag = 0;
    odpExecute(dp, odp, decided, skb);
  });
}

/** ovs_execute_actions: each output gets the frame, wrapped by the tunnel set before it when the vport is a tunnel's. */
export function odpExecute(dp: Datapath, odp: OdpDatapath, actions: OdpAction[], skb: Skb): void {
  let tunnel: Extract<OdpAction, { type: 'set_tunnel' }> | undefined;
  for (const a of actions) {
    if (a.type === 'set_tunnel') {
      tunnel = a;
      continue;
    }
    const port = odp.vport(a.port);
    if (!port) continue;
    const copy = new Skb(skb.frame, skb.flow, skb.dir);
    copy.lag = skb.lag;
    if (port.vxlan?.external) {
      if (tunnel) vxlanMetadataXmit(dp, port, tunnel, copy);
    } else devXmit(dp, port, copy);
  }
}

/**
 * vxlan_xmit_one in collect-metadata mode: the tunnel's addresses, id (the VNI is its low 24
 * bits), TTL and DF come from the flow's set_tunnel, the destination port from the device;
 * no UDP checksum unless the tunnel asks for one.
 */
function vxlanMetadataXmit(dp: Datapath, vx: SimLink, t: Extract<OdpAction, { type: 'set_tunnel' }>, skb: Skb): void {
  const v = vx.vxlan!;
  const inner = skb.frame;
  const r = route(v.linkNetns, t.dst);
  if (!r || r.local) return dp.trace.encapFailed(vx, skb, `no route to ${t.dst}`);
  const udpLength = UDP_HEADER_LEN + VXLAN_HEADER_LEN + inner.length;
  const mtu = pathMtu(v.linkNetns, t.dst, r.dev, dp.clock.now);
  if (IPV4_MIN_HEADER_LEN + udpLength > mtu && t.df) return dp.trace.tunnelTooBig(vx, skb, `MTU ${mtu} < ${IPV4_MIN_HEADER_LEN + udpLength}, DF set`);
  const outer: Ipv4Repr = { src: t.src, dst: t.dst, protocol: IPPROTO_UDP, ttl: t.ttl, id: dp.nextIpId(), tos: 0, dontFragment: t.df, moreFragments: false, fragmentOffset: 0, options: NO_OPTIONS };
  const n = resolvedNeigh(dp, v.linkNetns, r);
  const b = newDatagram(dp, r, n, outer, udpLength);
  const at = b.length - udpLength;
  writeUdpHeader({ srcPort: vxlanSourcePort(inner), dstPort: v.dstport }, b, at, udpLength - UDP_HEADER_LEN);
  writeVxlanHeader({ flags: VXLAN_FLAG_I, groupPolicyId: 0, vni: t.id & 0xffffff }, b, at + UDP_HEADER_LEN);
  b.set(inner, at + UDP_HEADER_LEN + VXLAN_HEADER_LEN);
  const out = new Skb(b, skb.flow, skb.dir, `set_tunnel id ${t.id} -> ${t.dst} (VNI ${t.id & 0xffffff})`, vx.name);
  out.lag = skb.lag + dp.delays.vxlan;
  ipTransmit(dp, v.linkNetns, r, n, out);
}
