/** The report's views, each a function of the trace and the current hop: testable in jsdom. */
import { select, Selection } from 'd3-selection';
import { D3ZoomEvent, zoom, zoomIdentity, ZoomTransform, zoomTransform } from 'd3-zoom';
import type { ControlNotKept, Flow, Hop, Topology } from '../../sim/trace/types';
import { controlSummary } from '../../sim/trace/control';
import type { Layer } from '../../sim/wire/layer';
import { devicePos, Layout, layoutTopology } from './layout';
import { fieldText } from './fields';
import { MTU_NOTE, vxlanOverhead } from './explain';

type Div = Selection<HTMLElement, unknown, null, undefined>;

const KIND_COLORS: Record<string, string> = { host: '#eef2f7', overlay: '#e6f4ea', container: '#fff4e0', lb: '#f3e8fd', ingress: '#f3e8fd' };

export function hopSummary(h: Hop): string {
  const icmp = h.layers.filter((l) => l.proto === 'icmp').pop();
  const arp = h.layers.find((l) => l.proto === 'arp');
  const dns = h.layers.find((l) => l.proto === 'dns');
  const vx = h.layers.find((l) => l.proto === 'vxlan');
  const ips = h.layers.filter((l) => l.proto === 'ip');
  const inner = ips[ips.length - 1];
  const what = icmp ? `ICMP ${icmp['icmp.type'] === 8 ? 'echo request' : icmp['icmp.type'] === 0 ? 'echo reply' : `type ${icmp['icmp.type']}`}${icmp['icmp.seq'] !== undefined ? ` seq ${icmp['icmp.seq']}` : ''}`
    : arp ? (arp['arp.opcode'] === 1 ? `ARP who has ${arp['arp.dst.proto_ipv4']}` : `ARP ${arp['arp.src.proto_ipv4']} is at ${arp['arp.src.hw_mac']}`)
    : dns ? `DNS ${dns['dns.flags.response'] ? 'answer' : 'query'} ${dns['dns.qry.name'] ?? ''}` : h.layers.map((l) => l.proto).join('/');
  const addrs = inner ? ` ${inner['ip.src']} → ${inner['ip.dst']}` : '';
  return `${what}${addrs}${vx ? ` in VXLAN ${vx['vxlan.vni']}` : ''}${h.reason ? ` — dropped: ${h.reason}` : h.note ? ` — ${h.note}` : ''}`;
}

const DEVICE_KINDS: Record<string, string> = {
  bridge: 'bridge (br0, docker_gwbridge, weave)', vxlan: 'VXLAN device (vxlan0, vxlan-6784)', veth: 'veth pair end', underlay: 'host NIC on the underlay (eth0)',
  openvswitch: 'Open vSwitch datapath (weave fastdp)', program: "user-space router (weave's weaver)",
};

/** Where a hop is drawn: at the program that acted on it (a router's sending), else at its device. */
function hopPos(l: Layout, t: Topology, h: Hop): { x: number; y: number } | undefined {
  const program = h.actor !== undefined && t.programs?.some((p) => p.host === h.host && p.netns === h.netns && p.name === h.actor);
  return devicePos(l, h.host, h.netns, program ? h.actor! : h.device);
}
const NS_KINDS: Record<string, string> = { host: 'host namespace', overlay: "overlay namespace (Docker's 1-<id>)", container: 'container (sandbox)' };

/** The drawn topology: zoom and pan inside its panel, fit to it, and keep the packet in view. */
export interface TopologyView {
  layout: Layout;
  /** What was drawn (its programs place the hops they acted on). */
  topology: Topology;
  fit(): void;
  /** Pans (never zooms) so that layout point p is inside the panel with a margin. */
  follow(p: { x: number; y: number }, animate: boolean): void;
}

type SvgSel = Selection<SVGSVGElement, unknown, null, undefined>;

function panelSize(svg: SvgSel): { w: number; h: number } {
  const el = svg.node()!;
  return { w: el.clientWidth, h: el.clientHeight };
}

export function renderTopology(root: Div, t: Topology, scenario: string, reducedMotion: () => boolean): TopologyView {
  const l = layoutTopology(t);
  root.selectAll('*').remove();
  const svg: SvgSel = root.append('svg').attr('class', 'topology').attr('role', 'img').attr('aria-label', `Topology of ${scenario}: ${l.hosts.length} hosts, ${l.namespaces.length} namespaces, ${l.devices.length} devices`);
  const view = svg.append('g').attr('class', 'viewport');
  view.append('line').attr('class', 'underlay').attr('x1', 10).attr('x2', l.width - 10).attr('y1', l.underlayY).attr('y2', l.underlayY).attr('data-netns', 'underlay').attr('data-device', 'segment');
  view.append('text').attr('x', 14).attr('y', l.underlayY + 18).attr('class', 'label underlay-label').text(`underlay ${t.hosts.map((h) => h.underlay).join(', ')}`);
  for (const h of l.hosts) {
    const g = view.append('g').attr('class', 'host-box').attr('data-host', h.name);
    g.append('rect').attr('x', h.x).attr('y', h.y).attr('width', h.w).attr('height', h.h).attr('rx', 8);
    g.append('text').attr('x', h.x + 10).attr('y', h.y + 18).attr('class', 'label host-label').text(h.label).append('title').text(`host ${h.name}, underlay address ${h.underlay}`);
    const eth0 = devicePos(l, h.name, h.name, 'eth0');
    if (eth0) view.append('line').attr('class', 'link underlay-link').attr('x1', eth0.x).attr('y1', eth0.y).attr('x2', eth0.x).attr('y2', l.underlayY);
  }
  for (const n of l.namespaces) {
    const g = view.append('g').attr('class', `netns ${n.kind}`).attr('data-netns', n.name).attr('data-host', n.host);
    g.append('rect').attr('x', n.x).attr('y', n.y).attr('width', n.w).attr('height', n.h).attr('rx', 5).attr('fill', KIND_COLORS[n.kind] ?? '#fff');
    g.append('text').attr('x', n.x + 6).attr('y', n.y + 14).attr('class', 'label ns-label').text(n.label).append('title').text(n.title);
  }
  for (const link of t.links) {
    if (!link.peer) continue;
    const a = devicePos(l, link.host, link.netns, link.device);
    const b = devicePos(l, link.host, link.peer.netns, link.peer.device);
    if (a && b && `${link.netns}/${link.device}` < `${link.peer.netns}/${link.peer.device}`) {
      view.append('line').attr('class', 'link veth').attr('x1', a.x).attr('y1', a.y).attr('x2', b.x).attr('y2', b.y);
    }
  }
  // A program's lines to the devices it takes packets from and sends them by.
  for (const prog of t.programs ?? []) {
    const a = devicePos(l, prog.host, prog.netns, prog.name);
    for (const device of prog.devices) {
      const b = devicePos(l, prog.host, prog.netns, device);
      if (a && b) view.append('line').attr('class', 'link program-link').attr('x1', a.x).attr('y1', a.y).attr('x2', b.x).attr('y2', b.y);
    }
  }
  const mtuOf = (d: { host: string; netns: string; device: string }) => {
    const ns = t.namespaces.find((n) => n.host === d.host && n.name === d.netns);
    const overlayPeer = t.links.find((lk) => lk.host === d.host && lk.netns === d.netns && lk.device === d.device)?.peer;
    const onOverlay = ns?.kind === 'container' && t.namespaces.some((n) => n.host === d.host && n.name === overlayPeer?.netns && n.kind === 'overlay');
    return onOverlay ? ` — MTU 1450 = 1500 (underlay) − 50 (VXLAN)` : '';
  };
  for (const d of l.devices) {
    const link = t.links.find((lk) => lk.host === d.host && lk.netns === d.netns && lk.device === d.device);
    const g = view.append('g').attr('class', `device ${d.kind}`).attr('data-host', d.host).attr('data-netns', d.netns).attr('data-device', d.device);
    if (d.kind === 'program') g.append('rect').attr('x', d.x - 9).attr('y', d.y - 7).attr('width', 18).attr('height', 14).attr('rx', 3);
    else g.append('circle').attr('cx', d.x).attr('cy', d.y).attr('r', 7);
    g.append('text').attr('x', d.x).attr('y', d.y + 19).attr('text-anchor', 'middle').attr('class', 'label dev-label').text(d.label);
    const program = t.programs?.find((p) => p.host === d.host && p.netns === d.netns && p.name === d.device);
    if (program) g.append('title').text(`${d.device} (${DEVICE_KINDS.program}) in ${d.netns} on ${d.host}: ${program.role === 'router' ? `captures on ${program.devices[0]} and sends in UDP from ${program.devices[1]}` : `controls ${program.devices.join(', ')}: installs its flows on a miss`}`);
    else g.append('title').text(`${d.device} (${DEVICE_KINDS[d.kind] ?? d.kind}) in ${d.netns} on ${d.host}${link?.addresses?.length ? `, ${link.addresses.join(' ')}` : ''}${link?.mac ? `, ${link.mac}` : ''}${link?.master ? `, port of ${link.master}` : ''}${mtuOf(d)}`);
  }
  view.append('g').attr('class', 'badges');
  view.append('circle').attr('class', 'packet').attr('r', 9).attr('cx', -20).attr('cy', -20).attr('aria-hidden', 'true');

  const behaviour = zoom<SVGSVGElement, unknown>().scaleExtent([0.2, 4]).on('zoom', (e: D3ZoomEvent<SVGSVGElement, unknown>) => view.attr('transform', e.transform.toString()));
  const extent = (): [[number, number], [number, number]] => {
    const { w, h } = panelSize(svg);
    return [[0, 0], [w || l.width, h || l.height]];
  };
  behaviour.extent(extent);
  svg.call(behaviour);
  const apply = (tr: ZoomTransform, animate: boolean) => {
    if (animate && !reducedMotion()) svg.transition().duration(350).call(behaviour.transform, tr);
    else svg.call(behaviour.transform, tr);
  };
  return {
    layout: l,
    topology: t,
    fit() {
      const { w, h } = panelSize(svg);
      if (!w || !h) return;
      // Fit the whole lab, but never so small that labels cannot be read; follow() pans to the packet.
      const k = Math.max(0.55, Math.min(w / l.width, h / l.height, 1.6));
      apply(zoomIdentity.translate((w - l.width * k) / 2 > 0 ? (w - l.width * k) / 2 : 0, (h - l.height * k) / 2 > 0 ? (h - l.height * k) / 2 : 0).scale(k), false);
    },
    follow(p, animate) {
      const { w, h } = panelSize(svg);
      if (!w || !h) return;
      const tr = zoomTransform(svg.node()!);
      const [sx, sy] = tr.apply([p.x, p.y]);
      // The device's circle, badges and label fit in this margin.
      const margin = Math.min(28, w / 6, h / 6);
      if (sx >= margin && sx <= w - margin && sy >= margin && sy <= h - margin) return;
      apply(zoomIdentity.translate(w / 2 - tr.k * p.x, h / 2 - tr.k * p.y).scale(tr.k), animate);
    },
  };
}

/** Step badges on the devices the current flow passes, and the packet at the current hop. */
export function showHop(root: Div, v: TopologyView, hops: Hop[], index: number, animate: boolean): void {
  const l = v.layout;
  const svg = root.select<SVGSVGElement>('svg.topology');
  const badges = svg.select('g.badges');
  badges.selectAll('*').remove();
  const seen = new Set<string>();
  for (const h of hops) {
    if (h.step === undefined) continue;
    const p = hopPos(l, v.topology, h);
    const key = `${h.step}|${p?.x}|${p?.y}|${h.dir}`;
    if (!p || seen.has(key)) continue;
    seen.add(key);
    const dx = h.dir === 'reply' ? 11 : -11;
    const g = badges.append('g').attr('class', `badge ${h.dir}`).attr('data-step', h.step);
    g.append('circle').attr('cx', p.x + dx).attr('cy', p.y - 18).attr('r', 8);
    g.append('text').attr('x', p.x + dx).attr('y', p.y - 14.5).attr('text-anchor', 'middle').text(h.step);
    g.append('title').text(`step ${h.step} (${h.dir})`);
  }
  const hop = hops[index];
  const p = hop && hopPos(l, v.topology, hop);
  const packet = svg.select<SVGCircleElement>('circle.packet').attr('class', `packet ${hop?.dir ?? ''} ${hop?.event === 'drop' ? 'dropped' : ''}`);
  const at = hop && (v.topology.programs?.some((pr) => pr.host === hop.host && pr.netns === hop.netns && pr.name === hop.actor) ? hop.actor : hop.device);
  svg.selectAll('g.device').classed('current', function () {
    const el = this as Element;
    return !!hop && el.getAttribute('data-netns') === hop.netns && el.getAttribute('data-device') === at && el.getAttribute('data-host') === hop.host;
  });
  svg.select('line.underlay').classed('current', hop?.host === 'underlay');
  if (!p) return;
  if (animate) packet.transition().duration(350).attr('cx', p.x).attr('cy', p.y);
  else packet.interrupt().attr('cx', p.x).attr('cy', p.y);
  v.follow(p, animate);
}

/** What the drawing's shapes and colours mean. */
export function renderLegend(root: Div): void {
  root.selectAll('*').remove();
  const list = root.append('ul').attr('class', 'legend').attr('aria-label', 'Legend');
  for (const [kind, text] of Object.entries(NS_KINDS)) {
    const li = list.append('li');
    li.append('span').attr('class', `swatch ns ${kind}`).style('background', KIND_COLORS[kind]).attr('aria-hidden', 'true');
    li.append('span').text(text);
  }
  for (const [kind, text] of Object.entries(DEVICE_KINDS)) {
    const li = list.append('li');
    li.append('span').attr('class', `swatch dev ${kind}`).attr('aria-hidden', 'true');
    li.append('span').text(text);
  }
  for (const [cls, text] of [['request', 'request: step badge and packet'], ['reply', 'reply: step badge and packet'], ['dropped', 'dropped packet']]) {
    const li = list.append('li');
    li.append('span').attr('class', `swatch badge ${cls}`).attr('aria-hidden', 'true').text(cls === 'dropped' ? '' : '3');
    li.append('span').text(text);
  }
  const li = list.append('li');
  li.append('span').attr('class', 'swatch line').attr('aria-hidden', 'true');
  li.append('span').text('veth pair / underlay wire');
}

/** How a flow is listed: the scenario step and command that sent it, then what it is. */
export function flowLabel(f: Flow): string {
  const what = `${f.id}: ${f.kind} ${f.from} → ${f.to}`;
  return f.origin ? `step ${f.origin.step} · ${f.origin.on}: ${f.origin.command} (${what})` : what;
}

/**
 * dockerd's traffic between the nodes, per step, kind and direction: how many exchanges,
 * packets and bytes, and how many more the trace counted without keeping them. Its flows are
 * listed apart in the flow menu, so a ping's hops stay its own.
 */
export function renderControl(root: Div, control: readonly Flow[], notKept: readonly ControlNotKept[] = []): void {
  root.selectAll('*').remove();
  const rows = controlSummary(control, notKept);
  const table = root.append('table').attr('class', 'control');
  table.append('thead').append('tr').selectAll('th').data(['step', 'kind', 'from → to', 'exchanges', 'packets', 'IP bytes']).join('th').text((d) => d);
  const tr = table.append('tbody').selectAll('tr').data(rows).join('tr').attr('data-control', (r) => r.control);
  tr.append('td').text((r) => (r.step === undefined ? '' : r.command === undefined ? String(r.step) : `${r.step} · ${r.command}`));
  tr.append('td').text((r) => r.control);
  tr.append('td').text((r) => (r.from === undefined ? 'more, not kept in the trace' : `${r.from} → ${r.to}`));
  for (const k of ['exchanges', 'packets', 'bytes'] as const) tr.append('td').attr('class', 'num').text((r) => (r[k] === undefined ? '' : String(r[k])));
}

export function renderCnm(root: Div, t: Topology): void {
  root.selectAll('*').remove();
  const sandboxes = t.namespaces.filter((n) => n.kind === 'container');
  const attached = (n: { host: string; name: string }) => t.links.some((lk) => lk.peer?.netns === n.name && lk.host === n.host && sandboxes.some((s) => s.host === lk.host && s.name === lk.netns));
  const networks = [...new Set(t.namespaces.filter((n) => n.kind === 'overlay' && attached(n)).map((n) => n.network!))];
  const netOf = (link: { host: string; peer?: { netns: string } }) => t.namespaces.find((n) => n.host === link.host && n.name === link.peer?.netns)?.network ?? (link.peer?.netns === link.host ? 'docker_gwbridge' : undefined);
  const allNets = [...networks, 'docker_gwbridge'];
  const W = Math.max(520, sandboxes.length * 130 + 40), H = 120 + allNets.length * 34;
  const svg = root.append('svg').attr('class', 'cnm').attr('viewBox', `0 0 ${W} ${H}`).attr('width', W).attr('height', H).attr('role', 'img').attr('aria-label', 'CNM: sandboxes, endpoints, networks');
  allNets.forEach((n, i) => {
    const y = 100 + i * 34;
    svg.append('rect').attr('class', 'network').attr('data-network', n).attr('x', 10).attr('y', y).attr('width', W - 20).attr('height', 22).attr('rx', 11);
    svg.append('text').attr('x', 20).attr('y', y + 15).attr('class', 'label').text(`Network ${n}`);
  });
  sandboxes.forEach((s, i) => {
    const x = 20 + i * 130;
    svg.append('rect').attr('class', 'sandbox').attr('data-sandbox', s.name).attr('x', x).attr('y', 10).attr('width', 110).attr('height', 48).attr('rx', 6);
    svg.append('text').attr('x', x + 8).attr('y', 28).attr('class', 'label').text(`Sandbox ${s.container}`);
    svg.append('text').attr('x', x + 8).attr('y', 44).attr('class', 'small').text(`${s.host}: ${s.name}`);
    // An endpoint: a sandbox's device linked to another (its veth's other end, the parent a macvlan sits on).
    t.links.filter((lk) => lk.host === s.host && lk.netns === s.name && lk.peer !== undefined).forEach((lk, k) => {
      const net = netOf(lk);
      const ni = allNets.indexOf(net ?? '');
      if (ni < 0) return;
      const ex = x + 20 + k * 30;
      svg.append('line').attr('class', 'endpoint-link').attr('x1', ex).attr('y1', 58).attr('x2', ex).attr('y2', 100 + ni * 34 + 11);
      svg.append('circle').attr('class', 'endpoint').attr('data-endpoint', `${s.container}/${lk.device}`).attr('cx', ex).attr('cy', 58).attr('r', 6)
        .append('title').text(`Endpoint ${lk.device} ${lk.addresses?.join(' ') ?? ''} on ${net}`);
    });
  });
}

export function renderEvents(root: Div, hops: Hop[], current: number, onPick: (i: number) => void): void {
  root.selectAll('*').remove();
  const table = root.append('table').attr('class', 'events');
  table.attr('aria-label', 'Hops of the flow; click one or use the arrow keys');
  table.append('thead').append('tr').selectAll('th').data(['time', 'step', 'dir', 'host', 'device', 'event', 'summary']).join('th').attr('scope', 'col').text((d) => d);
  const rows = table.append('tbody').selectAll('tr').data(hops).join('tr')
    .attr('data-hop', (_, i) => i).attr('data-step', (h) => (h.step === undefined ? '-' : String(h.step))).attr('class', (h) => `${h.dir} ${h.event === 'drop' ? 'drop' : ''}`)
    .attr('tabindex', -1).on('click', (_e, h) => onPick(hops.indexOf(h)));
  rows.selectAll('td').data((h) => [`${(h.timeNs / 1e6).toFixed(3)} ms`, h.step === undefined ? '–' : String(h.step), h.dir, h.host, `${h.netns}/${h.actor ? `${h.actor} → ` : ''}${h.device}`, h.event, hopSummary(h)]).join('td').text((d) => d);
  markCurrent(root, current);
}

export function markCurrent(root: Div, current: number): void {
  root.selectAll<HTMLTableRowElement, Hop>('tbody tr').each(function (_h, i) {
    if (i === current) {
      this.setAttribute('aria-current', 'step');
      // Scroll the hop list only, never the page.
      const box = root.node();
      if (box && (this.offsetTop < box.scrollTop + 30 || this.offsetTop > box.scrollTop + box.clientHeight - 30)) box.scrollTop = this.offsetTop - box.clientHeight / 2;
    } else this.removeAttribute('aria-current');
  });
}

const TITLES: Record<string, string> = { eth: 'Ethernet II', ip: 'IPv4', udp: 'UDP', vxlan: 'VXLAN', icmp: 'ICMP', arp: 'ARP', dns: 'DNS', tcp: 'TCP', sll: 'Linux cooked' };

/** What happened at the hop (one sentence) and the layers outermost first; a VXLAN layer holds what it carries. */
export function renderInspector(root: Div, hop: Hop | undefined): void {
  root.selectAll('*').remove();
  if (!hop) return;
  root.append('h3').text(`step ${hop.step ?? '–'} · ${hop.host} ${hop.netns}/${hop.actor ? `${hop.actor} → ` : ''}${hop.device} · ${hop.event}`);
  if (hop.reason) root.append('p').attr('class', 'drop-reason').text(`Dropped: ${hop.reason}`);
  if (hop.note) root.append('p').attr('class', 'note').text(hop.note);
  const added = hop.event === 'encap' ? vxlanOverhead(hop) : undefined;
  if (added) {
    const box = root.append('div').attr('class', 'added').attr('data-added-bytes', added.total);
    box.append('strong').text(`+${added.total} bytes: `);
    box.append('span').text(`${added.parts.map((p) => `${p.name} ${p.bytes}`).join(', ')} — around the ${added.innerFrame}-byte inner frame.`);
    box.append('p').attr('class', 'note').text(MTU_NOTE);
  }
  let parent: Div = root;
  hop.layers.forEach((layer: Layer, i: number) => {
    const fs = parent.append('fieldset').attr('class', `layer ${layer.proto}`).attr('data-proto', layer.proto).attr('data-depth', i);
    fs.append('legend').text(`${TITLES[layer.proto] ?? layer.proto}${layer.truncated ? ' (truncated)' : ''}`);
    for (const [k, v] of Object.entries(layer)) {
      if (k === 'proto' || k === 'truncated') continue;
      const text = fieldText(k, v);
      const row = fs.append('div').attr('class', 'field').attr('data-field', k);
      row.append('span').attr('class', 'name').text(k);
      const value = row.append('span').attr('class', 'value-cell');
      value.append('span').attr('class', 'value').text(text.shown);
      if (text.raw !== undefined) value.append('span').attr('class', 'raw').attr('title', 'raw value in the trace').text(text.raw);
    }
    if (layer.proto === 'vxlan' || (layer.proto === 'icmp' && i < hop.layers.length - 1)) parent = fs.append('div').attr('class', 'encapsulated') as unknown as Div;
  });
}

export function flowHops(flow: Flow | undefined, dir: string): Hop[] {
  if (!flow) return [];
  return flow.hops.filter((h) => dir === 'all' || h.dir === dir);
}

export { select };
