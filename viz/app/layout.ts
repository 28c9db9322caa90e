/** Where each host, namespace and device of a trace's topology is drawn. */
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
  x: number;
  y: number;
}

export interface NsBox extends Box {
  host: string;
  name: string;
  kind: string;
  label: string;
}

export interface Layout {
  width: number;
  height: number;
  hosts: (Box & { name: string; underlay: string })[];
  namespaces: NsBox[];
  devices: DevicePos[];
  underlayY: number;
}

const NS_MIN_W = 150, NS_H = 84, GAP = 14, DEV_GAP = 56, PER_LINE = 5;

/** Rows inside a host: containers on top, Docker's overlay/lb/ingress sandboxes, then the host namespace. */
function row(kind: string): number {
  return kind === 'container' ? 0 : kind === 'host' ? 2 : 1;
}

export function layoutTopology(t: Topology): Layout {
  const perRow = Math.min(Math.max(t.hosts.length, 1), 4);
  const hosts: Layout['hosts'] = [];
  const namespaces: NsBox[] = [];
  const devices: DevicePos[] = [];
  let maxBottom = 0;
  t.hosts.forEach((h, i) => {
    const nss = t.namespaces.filter((n) => n.host === h.name && n.kind !== 'lb' && n.kind !== 'ingress');
    const rows = [0, 1, 2].map((r) => nss.filter((n) => row(n.kind) === r));
    const devCount = (n: { name: string }) => new Set(t.links.filter((l) => l.host === h.name && l.netns === n.name).map((l) => l.device)).size;
    const nsWidth = (n: { name: string }) => Math.max(NS_MIN_W, 16 + Math.min(devCount(n), PER_LINE) * DEV_GAP);
    const w = Math.max(...rows.map((r) => r.reduce((a, n) => a + nsWidth(n) + GAP, GAP)), NS_MIN_W + 2 * GAP);
    const hh = 3 * (NS_H + GAP) + GAP + 26;
    const x = 20 + (i % perRow) * 0 + hosts.filter((_, k) => Math.floor(k / perRow) === Math.floor(i / perRow)).reduce((a, b) => a + b.w + 30, 0);
    const y = 20 + Math.floor(i / perRow) * (hh + 80);
    hosts.push({ name: h.name, underlay: h.underlay, x, y, w, h: hh });
    maxBottom = Math.max(maxBottom, y + hh);
    rows.forEach((list, r) => list.forEach((n, k) => {
      const left = list.slice(0, k).reduce((a, m) => a + nsWidth(m) + GAP, x + GAP);
      const box: NsBox = { host: h.name, name: n.name, kind: n.kind, label: n.container ?? (n.network ? `${n.name} (${n.network})` : n.name), x: left, y: y + 26 + GAP + r * (NS_H + GAP), w: nsWidth(n), h: NS_H };
      namespaces.push(box);
      const devs = t.links.filter((l) => l.host === h.name && l.netns === n.name).map((l) => l.device).filter((d, idx, a) => a.indexOf(d) === idx);
      devs.forEach((d, di) => devices.push({ host: h.name, netns: n.name, device: d, x: box.x + 30 + (di % PER_LINE) * DEV_GAP, y: box.y + 36 + Math.floor(di / PER_LINE) * 30 }));
    }));
  });
  const width = Math.max(...hosts.map((b) => b.x + b.w), 400) + 20;
  return { width, height: maxBottom + 70, hosts, namespaces, devices, underlayY: maxBottom + 40 };
}

export function devicePos(l: Layout, host: string, netns: string, device: string): DevicePos | undefined {
  if (host === 'underlay') return { host, netns, device, x: l.width / 2, y: l.underlayY };
  return l.devices.find((d) => d.host === host && d.netns === netns && d.device === device) ?? l.devices.find((d) => d.host === host && d.netns === netns);
}
