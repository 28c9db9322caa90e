/** Where each host, namespace and device of a trace's topology is drawn, and what its labels say. */
import type { Topology } from '../../sim/trace/types';

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface DevicePos {
  host: string;
  netns: string;
  device: string;
  /** bridge, vxlan, veth, underlay, openvswitch (the link kinds of the trace), or program (a user-space router of the topology's programs). */
  kind: string;
  /** The name as drawn: shortened to fit between its neighbours; the full name goes in a tooltip. */
  label: string;
  x: number;
  y: number;
}

export interface NsBox extends Box {
  host: string;
  name: string;
  kind: string;
  /** Full label (tooltip) and the one drawn, shortened to the box. */
  title: string;
  label: string;
}

export interface Layout {
  width: number;
  height: number;
  hosts: (Box & { name: string; underlay: string; label: string })[];
  namespaces: NsBox[];
  devices: DevicePos[];
  underlayY: number;
}

const NS_MIN_W = 150, NS_H = 92, GAP = 14, DEV_GAP = 62, PER_LINE = 5, HOST_HEAD = 26;
/** Device circles sit below the namespace label and the step badges above them. */
const DEV_TOP = 46, DEV_ROW = 34;
/** Average glyph widths of the label fonts (9, 10 and 13 px system-ui), for shortening. */
const CHAR_W = { device: 5.6, ns: 6, host: 7.8 };

/** `name` cut to `px` pixels with an ellipsis, or whole if it fits. */
function shorten(name: string, px: number, charW: number): string {
  const max = Math.max(3, Math.floor(px / charW));
  return name.length <= max ? name : `${name.slice(0, max - 1)}…`;
}

/** Rows inside a host: containers on top, Docker's overlay/lb/ingress sandboxes, then the host namespace. */
function row(kind: string): number {
  return kind === 'container' ? 0 : kind === 'host' ? 2 : 1;
}

/** The host's namespace, with the containers run in it with --network host (they have none of their own). */
function nsTitle(n: Topology['namespaces'][number], hostMode: string[]): string {
  if (n.kind === 'host') return `${n.host} (host netns${hostMode.length ? `; --network host: ${hostMode.join(', ')}` : ''})`;
  if (n.container) return `${n.container} (container, netns ${n.name})`;
  return n.network ? `${n.name} (overlay ${n.network})` : n.name;
}

function nsShortTitle(n: Topology['namespaces'][number], hostMode: string[]): string {
  if (n.kind === 'host') return `${n.host} (host netns)${hostMode.length ? ` + ${hostMode.join(', ')}` : ''}`;
  if (n.container) return n.container;
  return n.network ? `${n.network} · ${n.name}` : n.name;
}

export function layoutTopology(t: Topology): Layout {
  const perRow = Math.min(Math.max(t.hosts.length, 1), 4);
  const hosts: Layout['hosts'] = [];
  const namespaces: NsBox[] = [];
  const devices: DevicePos[] = [];
  let maxBottom = 0;
  t.hosts.forEach((h, i) => {
    const nss = t.namespaces.filter((n) => n.host === h.name && n.kind !== 'lb' && n.kind !== 'ingress');
    const hostMode = (t.hostModeContainers ?? []).filter((c) => c.host === h.name).map((c) => c.container);
    const rows = [0, 1, 2].map((r) => nss.filter((n) => row(n.kind) === r));
    // A namespace's devices, then the programs in it (Weave Net's router), drawn in the same row.
    const devsOf = (n: { name: string }) => {
      const links = t.links.filter((l) => l.host === h.name && l.netns === n.name);
      const programs = (t.programs ?? []).filter((p) => p.host === h.name && p.netns === n.name).map((p) => ({ device: p.name, kind: 'program' }));
      return [...links.filter((l, idx) => links.findIndex((m) => m.device === l.device) === idx), ...programs.filter((p, idx) => programs.findIndex((m) => m.device === p.device) === idx)];
    };
    const nsWidth = (n: { name: string }) => Math.max(NS_MIN_W, 16 + Math.min(devsOf(n).length, PER_LINE) * DEV_GAP);
    const w = Math.max(...rows.map((r) => r.reduce((a, n) => a + nsWidth(n) + GAP, GAP)), NS_MIN_W + 2 * GAP);
    // A namespace with more devices than fit on a line gets more lines, and its host row grows.
    const lines = Math.max(1, ...nss.map((n) => Math.ceil(devsOf(n).length / PER_LINE)));
    const nsH = NS_H + (lines - 1) * DEV_ROW;
    const hh = 3 * (nsH + GAP) + GAP + HOST_HEAD;
    const y = 20 + Math.floor(i / perRow) * (hh + 80);
    const x = 20 + hosts.filter((_, k) => Math.floor(k / perRow) === Math.floor(i / perRow)).reduce((a, b) => a + b.w + 30, 0);
    hosts.push({ name: h.name, underlay: h.underlay, x, y, w, h: hh, label: shorten(`${h.name} — ${h.underlay}`, w - 20, CHAR_W.host) });
    maxBottom = Math.max(maxBottom, y + hh);
    rows.forEach((list, r) => list.forEach((n, k) => {
      const left = list.slice(0, k).reduce((a, m) => a + nsWidth(m) + GAP, x + GAP);
      const bw = nsWidth(n);
      const box: NsBox = { host: h.name, name: n.name, kind: n.kind, title: nsTitle(n, hostMode), label: shorten(nsShortTitle(n, hostMode), bw - 12, CHAR_W.ns), x: left, y: y + HOST_HEAD + GAP + r * (nsH + GAP), w: bw, h: nsH };
      namespaces.push(box);
      devsOf(n).forEach((l, di) => devices.push({
        host: h.name, netns: n.name, device: l.device, kind: l.kind, label: shorten(l.device, DEV_GAP - 6, CHAR_W.device),
        x: box.x + 30 + (di % PER_LINE) * DEV_GAP, y: box.y + DEV_TOP + Math.floor(di / PER_LINE) * DEV_ROW,
      }));
    }));
  });
  const width = Math.max(...hosts.map((b) => b.x + b.w), 400) + 20;
  return { width, height: maxBottom + 70, hosts, namespaces, devices, underlayY: maxBottom + 40 };
}

export function devicePos(l: Layout, host: string, netns: string, device: string): { x: number; y: number } | undefined {
  if (host === 'underlay') return { x: l.width / 2, y: l.underlayY };
  return l.devices.find((d) => d.host === host && d.netns === netns && d.device === device) ?? l.devices.find((d) => d.host === host && d.netns === netns);
}
