/** The report's views, each a function of the trace and the current hop: testable in jsdom. */
import { select, Selection } from 'd3-selection';
import type { Flow, Hop, Trace } from '../../sim/trace/types';
import type { Layer } from '../../sim/wire/layer';
import { devicePos, Layout, layoutTopology } from './layout';

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

export function renderTopology(root: Div, trace: Trace): Layout {
  const l = layoutTopology(trace.topology);
  root.selectAll('*').remove();
  const svg = root.append('svg').attr('class', 'topology').attr('viewBox', `0 0 ${l.width} ${l.height}`).attr('width', l.width).attr('height', l.height).attr('role', 'img')
    .attr('aria-label', `Topology of ${trace.scenario}`);
  svg.append('line').attr('class', 'underlay').attr('x1', 10).attr('x2', l.width - 10).attr('y1', l.underlayY).attr('y2', l.underlayY).attr('data-netns', 'underlay').attr('data-device', 'segment');
  svg.append('text').attr('x', 14).attr('y', l.underlayY + 16).attr('class', 'label').text('underlay 198.51.100.0/24');
  for (const h of l.hosts) {
    const g = svg.append('g').attr('class', 'host-box').attr('data-host', h.name);
    g.append('rect').attr('x', h.x).attr('y', h.y).attr('width', h.w).attr('height', h.h).attr('rx', 8);
    g.append('text').attr('x', h.x + 10).attr('y', h.y + 18).attr('class', 'host-label').text(`${h.name} — ${h.underlay}`);
    const eth0 = devicePos(l, h.name, h.name, 'eth0');
    if (eth0) svg.append('line').attr('class', 'link underlay-link').attr('x1', eth0.x).attr('y1', eth0.y).attr('x2', eth0.x).attr('y2', l.underlayY);
  }
  for (const n of l.namespaces) {
    const g = svg.append('g').attr('class', `netns ${n.kind}`).attr('data-netns', n.name).attr('data-host', n.host);
    g.append('rect').attr('x', n.x).attr('y', n.y).attr('width', n.w).attr('height', n.h).attr('rx', 5).attr('fill', KIND_COLORS[n.kind] ?? '#fff');
    g.append('text').attr('x', n.x + 6).attr('y', n.y + 14).attr('class', 'ns-label').text(n.kind === 'host' ? `${n.host} (host netns)` : n.label);
  }
  for (const link of trace.topology.links) {
    if (!link.peer) continue;
    const a = devicePos(l, link.host, link.netns, link.device);
    const b = devicePos(l, link.host, link.peer.netns, link.peer.device);
    if (a && b && `${link.netns}/${link.device}` < `${link.peer.netns}/${link.peer.device}`) {
      svg.append('line').attr('class', 'link veth').attr('x1', a.x).attr('y1', a.y).attr('x2', b.x).attr('y2', b.y);
    }
  }
  for (const d of l.devices) {
    const g = svg.append('g').attr('class', 'device').attr('data-host', d.host).attr('data-netns', d.netns).attr('data-device', d.device);
    g.append('circle').attr('cx', d.x).attr('cy', d.y).attr('r', 6);
    g.append('text').attr('x', d.x).attr('y', d.y + 17).attr('text-anchor', 'middle').attr('class', 'dev-label').text(d.device.length > 10 ? `${d.device.slice(0, 9)}…` : d.device)
      .append('title').text(d.device);
  }
  svg.append('g').attr('class', 'badges');
  svg.append('circle').attr('class', 'packet').attr('r', 8).attr('cx', -20).attr('cy', -20);
  return l;
}

/** Step badges on the devices the current flow passes, and the packet at the current hop. */
export function showHop(root: Div, l: Layout, hops: Hop[], index: number, animate: boolean): void {
  const svg = root.select<SVGSVGElement>('svg.topology');
  const badges = svg.select('g.badges');
  badges.selectAll('*').remove();
  const seen = new Set<string>();
  for (const h of hops) {
    if (h.step === undefined) continue;
    const p = devicePos(l, h.host, h.netns, h.device);
    const key = `${h.step}|${p?.x}|${p?.y}|${h.dir}`;
    if (!p || seen.has(key)) continue;
    seen.add(key);
    const dx = h.dir === 'reply' ? 12 : -12;
    const g = badges.append('g').attr('class', `badge ${h.dir}`).attr('data-step', h.step);
    g.append('circle').attr('cx', p.x + dx).attr('cy', p.y - 16).attr('r', 8);
    g.append('text').attr('x', p.x + dx).attr('y', p.y - 12).attr('text-anchor', 'middle').text(h.step);
  }
  const hop = hops[index];
  const p = hop && devicePos(l, hop.host, hop.netns, hop.device);
  const packet = svg.select<SVGCircleElement>('circle.packet').attr('class', `packet ${hop?.dir ?? ''} ${hop?.event === 'drop' ? 'dropped' : ''}`);
  if (!p) return;
  const t = animate && typeof (packet as unknown as { transition?: unknown }).transition === 'function' ? (packet as unknown as { transition(): { duration(n: number): typeof packet } }).transition().duration(350) : packet;
  t.attr('cx', p.x).attr('cy', p.y);
  svg.selectAll('g.device').classed('current', function () {
    const el = this as Element;
    return el.getAttribute('data-netns') === hop.netns && el.getAttribute('data-device') === hop.device && el.getAttribute('data-host') === hop.host;
  });
}

export function renderCnm(root: Div, trace: Trace): void {
  root.selectAll('*').remove();
  const t = trace.topology;
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
    t.links.filter((lk) => lk.host === s.host && lk.netns === s.name && lk.kind === 'veth').forEach((lk, k) => {
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
  table.append('thead').append('tr').selectAll('th').data(['time', 'step', 'dir', 'host', 'device', 'event', 'summary']).join('th').text((d) => d);
  const rows = table.append('tbody').selectAll('tr').data(hops).join('tr')
    .attr('data-hop', (_, i) => i).attr('data-step', (h) => (h.step === undefined ? '-' : String(h.step))).attr('class', (h) => `${h.dir} ${h.event === 'drop' ? 'drop' : ''}`)
    .attr('tabindex', -1).on('click', (_e, h) => onPick(hops.indexOf(h)));
  rows.selectAll('td').data((h) => [`${(h.timeNs / 1e6).toFixed(3)} ms`, h.step === undefined ? '–' : String(h.step), h.dir, h.host, `${h.netns}/${h.device}`, h.event, hopSummary(h)]).join('td').text((d) => d);
  markCurrent(root, current);
}

export function markCurrent(root: Div, current: number): void {
  root.selectAll<HTMLTableRowElement, Hop>('tbody tr').each(function (_h, i) {
    if (i === current) {
      this.setAttribute('aria-current', 'step');
      // Scroll the event list only, never the page.
      const box = this.closest('section');
      if (box && (this.offsetTop < box.scrollTop + 30 || this.offsetTop > box.scrollTop + box.clientHeight - 30)) box.scrollTop = this.offsetTop - box.clientHeight / 2;
    } else this.removeAttribute('aria-current');
  });
}

const TITLES: Record<string, string> = { eth: 'Ethernet II', ip: 'IPv4', udp: 'UDP', vxlan: 'VXLAN', icmp: 'ICMP', arp: 'ARP', dns: 'DNS', tcp: 'TCP', sll: 'Linux cooked' };

/** Layers outermost first; everything a VXLAN header carries is drawn nested inside it. */
export function renderInspector(root: Div, hop: Hop | undefined): void {
  root.selectAll('*').remove();
  if (!hop) return;
  root.append('h3').text(`step ${hop.step ?? '–'} · ${hop.host} ${hop.netns}/${hop.device} · ${hop.event}`);
  if (hop.reason) root.append('p').attr('class', 'drop-reason').text(`Dropped: ${hop.reason}`);
  if (hop.note) root.append('p').attr('class', 'note').text(hop.note);
  let parent: Div = root;
  hop.layers.forEach((layer: Layer, i: number) => {
    const fs = parent.append('fieldset').attr('class', `layer ${layer.proto}`).attr('data-proto', layer.proto).attr('data-depth', i);
    fs.append('legend').text(`${TITLES[layer.proto] ?? layer.proto}${layer.truncated ? ' (truncated)' : ''}`);
    for (const [k, v] of Object.entries(layer)) {
      if (k === 'proto' || k === 'truncated') continue;
      const row = fs.append('div').attr('class', 'field').attr('data-field', k);
      row.append('span').attr('class', 'name').text(k);
      row.append('span').attr('class', 'value').text(Array.isArray(v) ? v.join(', ') : String(v));
    }
    if (layer.proto === 'vxlan' || (layer.proto === 'icmp' && i < hop.layers.length - 1)) parent = fs.append('div').attr('class', 'encapsulated') as unknown as Div;
  });
}

export function flowHops(flow: Flow | undefined, dir: string): Hop[] {
  if (!flow) return [];
  return flow.hops.filter((h) => dir === 'all' || h.dir === dir);
}

export { select };
