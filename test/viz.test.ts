/** The report: view builders in jsdom, and the whole page in real Chromium. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { JSDOM } from 'jsdom';
import { BrowserContext, chromium } from 'playwright-core';
import { buildReport } from '../viz/report';
import { layoutTopology } from '../viz/app/layout';
import { fieldText } from '../viz/app/fields';
import { readCapture } from '../sim/pcap/reader';
import { dissect } from '../sim/wire/dissect';
import { execFileSync } from 'child_process';
import { runLab } from './helpers/run';
import { describeWith, REPO } from './helpers/env';
import { cnmlab } from './helpers/tshark';
import { Trace } from '../sim/trace/types';

let trace: Trace;
beforeAll(async () => {
  const { result } = await runLab('overlay-standalone');
  trace = JSON.parse(JSON.stringify(result.trace));
});

describe('report in jsdom', () => {
  let dom: JSDOM;
  beforeAll(() => {
    dom = new JSDOM(buildReport(trace), { runScripts: 'dangerously', pretendToBeVisual: true });
  });
  afterAll(() => dom.window.close());
  const $ = (sel: string) => dom.window.document.querySelector(sel);
  const $$ = (sel: string) => [...dom.window.document.querySelectorAll(sel)];

  test('the page renders from the embedded trace', () => {
    expect($('body')!.getAttribute('data-ready')).toBe('true');
    expect($('#title')!.textContent).toBe('overlay-standalone · sim');
  });

  test('flows are listed by the scenario step, host and command that sent them', () => {
    expect($$('#flow optgroup[label="flows"] option').map((o) => o.textContent)).toEqual(['step 10 · ubuntu0: ping -c 3 ubuntu1 (ping-1: icmp-echo ubuntu0 → ubuntu1)']);
    expect(($('#flow') as HTMLSelectElement).value).toBe('0');
  });

  test("dockerd's own traffic is listed apart (its own group in the flow menu, a table per step and kind), never shown first", () => {
    const control = trace.control ?? [];
    expect(control.length).toBeGreaterThan(0);
    const listed = $$('#flow optgroup[data-control] option');
    expect(listed.map((o) => o.getAttribute('value'))).toEqual(control.map((_, i) => String(trace.flows.length + i)));
    expect(listed[0].textContent).toContain(`${control[0].id}: control-plane`);
    expect($('#control-section')!.hasAttribute('hidden')).toBe(false);
    const kinds = new Set($$('#control tbody tr').map((r) => r.getAttribute('data-control')));
    expect(kinds).toEqual(new Set(control.map((f) => f.control)));
    const select = $('#flow') as HTMLSelectElement;
    select.value = String(trace.flows.length);
    select.dispatchEvent(new dom.window.Event('change'));
    expect($$('tr[data-hop]').length).toBe(control[0].hops.length);
    // Its hops are on no step of the ping's path.
    expect($$('tr[data-hop]').every((r) => r.getAttribute('data-step') === '-')).toBe(true);
    select.value = '0';
    select.dispatchEvent(new dom.window.Event('change'));
  });

  test('a legend names the namespace roles, device kinds and step badge colours', () => {
    const items = $$('#legend li').map((li) => li.textContent);
    for (const want of ['host namespace', 'overlay namespace', 'container', 'bridge', 'VXLAN device', 'veth', 'request', 'reply', 'dropped']) {
      expect(items.some((t) => t!.includes(want))).toBe(true);
    }
  });

  test('topology: hosts, namespaces and devices carry data-netns and data-device', () => {
    expect($$('g.host-box').map((g) => g.getAttribute('data-host'))).toEqual(['r0', 'r1']);
    const overlay = trace.topology.namespaces.find((n) => n.kind === 'overlay' && n.network === 'test-net')!.name;
    expect($(`g.netns[data-netns="${overlay}"]`)).not.toBeNull();
    for (const dev of ['br0', 'vxlan0', 'veth1']) expect($(`g.device[data-netns="${overlay}"][data-device="${dev}"]`)).not.toBeNull();
    expect($('g.device[data-netns="r0"][data-device="eth0"]')).not.toBeNull();
    expect($$('line.veth').length).toBeGreaterThanOrEqual(4);
  });

  test('event list: one row per hop with its step; the first is current', () => {
    const rows = $$('tr[data-hop]');
    expect(rows.length).toBe(trace.flows[0].hops.length);
    // Every hop of the seed lab's ping is on the overlay's path (the host's ARP for the peer VTEP at step 4 too).
    expect(new Set(rows.map((r) => r.getAttribute('data-step')))).toEqual(new Set(['0', '1', '2', '3', '4', '5', '6', '7', '8']));
    expect(rows[0].getAttribute('aria-current')).toBe('step');
  });

  test('next, prev and arrow keys move the current row; the inspector follows', () => {
    const next = $('[data-action="next"]') as HTMLButtonElement;
    next.click();
    next.click();
    expect($('tr[aria-current="step"]')!.getAttribute('data-hop')).toBe('2');
    ($('[data-action="prev"]') as HTMLButtonElement).click();
    expect($('tr[aria-current="step"]')!.getAttribute('data-hop')).toBe('1');
    dom.window.document.dispatchEvent(new dom.window.KeyboardEvent('keydown', { key: 'ArrowRight' }));
    expect($('tr[aria-current="step"]')!.getAttribute('data-hop')).toBe('2');
    // Step 4's encapsulation (before it, the host resolves the peer VTEP's MAC, also step 4).
    const step4 = $$('tr[data-step="4"]').find((r) => r.textContent!.includes('encap')) as HTMLElement;
    step4.dispatchEvent(new dom.window.MouseEvent('click', { bubbles: true }));
    expect($('tr[aria-current="step"]')).toBe(step4);
    expect($('#inspector [data-field="vxlan.vni"] .value')!.textContent).toBe('4097');
    // As Wireshark prints it, with the raw number beside.
    expect($('#inspector [data-field="vxlan.flags"] .value')!.textContent).toBe('0x0800, VXLAN Network ID (VNI)');
    expect($('#inspector [data-field="vxlan.flags"] .raw')!.textContent).toBe('2048');
    // The encapsulation says what it adds, measured on the frame, and why the MTU is 1450.
    expect($('#inspector .added')!.textContent).toMatch(/^\+50 bytes: outer Ethernet 14, outer IPv4 20, UDP 8, VXLAN 8 — around the 98-byte inner frame\..*MTU 1450/);
    expect($('#explain')!.textContent).toMatch(/^Step 4: vxlan0 finds 02:42:0a:00:01:04 in its FDB behind VTEP 198\.51\.100\.11, wraps the frame in outer headers \(\+50 bytes, VNI 4097\)/);
    // Encapsulation is nesting: the inner Ethernet sits inside the VXLAN layer.
    expect($('#inspector fieldset.vxlan fieldset.eth')).not.toBeNull();
    expect($$('#inspector fieldset.layer').map((f) => f.getAttribute('data-proto'))).toEqual(['eth', 'ip', 'udp', 'vxlan', 'eth', 'ip', 'icmp']);
  });

  test('each step explains itself: br0 at step 3 looks up the destination in its FDB', () => {
    const step3 = $$('tr[data-step="3"]').find((r) => r.textContent!.includes('ICMP echo request'))!;
    step3.dispatchEvent(new dom.window.MouseEvent('click', { bubbles: true }));
    expect($('#explain')!.textContent).toBe('Step 3: br0 looks up 02:42:0a:00:01:04 in its FDB and finds it behind vxlan0, so it forwards the frame there.');
    expect(step3.textContent).toContain('br0 → vxlan0');
  });

  test('Home and End go to the first and last hop', () => {
    const key = (k: string) => dom.window.document.dispatchEvent(new dom.window.KeyboardEvent('keydown', { key: k }));
    key('End');
    expect($('tr[aria-current="step"]')!.getAttribute('data-hop')).toBe(String(trace.flows[0].hops.length - 1));
    key('Home');
    expect($('tr[aria-current="step"]')!.getAttribute('data-hop')).toBe('0');
  });

  test('direction filter shows only replies', () => {
    const sel = $('#direction') as HTMLSelectElement;
    sel.value = 'reply';
    sel.dispatchEvent(new dom.window.Event('change'));
    const rows = $$('tr[data-hop]');
    expect(rows.length).toBe(trace.flows[0].hops.filter((h) => h.dir === 'reply').length);
    expect(rows.every((r) => r.classList.contains('reply'))).toBe(true);
  });

  test('CNM view: each container sandbox, its endpoints, and the networks they join', () => {
    expect($$('rect.sandbox').map((r) => r.getAttribute('data-sandbox')).length).toBe(2);
    expect($$('rect.network').map((r) => r.getAttribute('data-network'))).toEqual(['test-net', 'docker_gwbridge']);
    expect($$('circle.endpoint').length).toBe(4);
  });

  test('the layout stays inside its box for 2 to 10 hosts', () => {
    for (const n of [2, 5, 10]) {
      const t = { ...trace.topology, hosts: Array.from({ length: n }, (_, i) => ({ name: `h${i}`, underlay: `198.51.100.${10 + i}` })) };
      t.namespaces = t.hosts.flatMap((h) => [{ host: h.name, name: h.name, kind: 'host' as const }, { host: h.name, name: `c-${h.name}`, kind: 'container' as const, container: `c${h.name}` }]);
      t.links = t.hosts.map((h) => ({ host: h.name, netns: h.name, device: 'eth0', kind: 'underlay' }));
      const l = layoutTopology(t);
      expect(l.hosts).toHaveLength(n);
      for (const h of l.hosts) expect(h.x + h.w).toBeLessThanOrEqual(l.width);
      for (let i = 0; i < l.hosts.length; i++) for (let k = i + 1; k < l.hosts.length; k++) {
        const a = l.hosts[i], b = l.hosts[k];
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap).toBe(false);
      }
    }
  });

  test('a flow is drawn in the lab its step saw: ubuntu1, removed later, is there for the first ping', async () => {
    const { result } = await runLab('container-leaves');
    const t: Trace = JSON.parse(JSON.stringify(result.trace));
    const d = new JSDOM(buildReport(t), { runScripts: 'dangerously', pretendToBeVisual: true });
    const doc = d.window.document;
    const ubuntu1 = () => [...doc.querySelectorAll('g.netns.container')].find((g) => g.querySelector('title')!.textContent!.startsWith('ubuntu1 '));
    const sel = doc.querySelector('#flow') as HTMLSelectElement;
    const first = t.flows.findIndex((f) => f.kind === 'icmp-echo');
    sel.value = String(first);
    sel.dispatchEvent(new d.window.Event('change'));
    expect(ubuntu1()).toBeDefined();
    const end = t.flows[first].hops.findIndex((h) => h.step === 8 && h.event === 'deliver' && h.dir === 'request');
    (doc.querySelector(`tr[data-hop="${end}"]`) as HTMLElement).dispatchEvent(new d.window.MouseEvent('click', { bubbles: true }));
    const current = doc.querySelector('g.device.current')!;
    expect([current.getAttribute('data-host'), current.getAttribute('data-device')]).toEqual(['r1', 'eth0']);
    expect(current.getAttribute('data-netns')).toBe(ubuntu1()!.getAttribute('data-netns'));
    sel.value = String(t.flows.length - 1);
    sel.dispatchEvent(new d.window.Event('change'));
    expect(ubuntu1()).toBeUndefined();
    d.window.close();
  });

  test("a container run with --network host is drawn in its host's namespace, which its ping starts from", async () => {
    const { result } = await runLab('network-modes');
    const t: Trace = JSON.parse(JSON.stringify(result.trace));
    // hst, run at step 2, has no namespace of its own: the topology names it with its host's.
    expect(t.topology.hostModeContainers).toEqual([{ host: 'r0', container: 'hst', since: 2 }]);
    expect(t.topology.namespaces.some((n) => n.container === 'hst')).toBe(false);
    const r0 = layoutTopology(t.topology).namespaces.find((n) => n.host === 'r0' && n.kind === 'host')!;
    expect([r0.title, r0.label]).toEqual(['r0 (host netns; --network host: hst)', 'r0 (host netns) + hst']);
    const d = new JSDOM(buildReport(t), { runScripts: 'dangerously', pretendToBeVisual: true });
    const doc = d.window.document;
    const sel = doc.querySelector('#flow') as HTMLSelectElement;
    const ping = t.flows.findIndex((f) => f.kind === 'icmp-echo' && f.from === 'hst');
    sel.value = String(ping);
    sel.dispatchEvent(new d.window.Event('change'));
    const hostBox = doc.querySelector('g.netns.host[data-host="r0"]')!;
    expect(hostBox.querySelector('.ns-label')!.firstChild!.textContent).toBe('r0 (host netns) + hst');
    expect(hostBox.querySelector('.ns-label title')!.textContent).toBe('r0 (host netns; --network host: hst)');
    // Its first hop is the host's docker0 forwarding to br's port.
    const current = doc.querySelector('g.device.current')!;
    expect([current.getAttribute('data-host'), current.getAttribute('data-netns')]).toEqual(['r0', 'r0']);
    d.window.close();
  });

  test("weave: the weave bridge, vethwe-bridge and its other end, and the router; sleeve's router (user space) between vethwe-pcap and eth0 takes step 4, fastdp's datapath and its VXLAN vport under the router as controller", async () => {
    for (const [lab, devices, program] of [
      ['weave-sleeve', ['weave', 'vethwe-bridge', 'vethwe-pcap'], ['vethwe-pcap', 'eth0']],
      ['weave-fastdp', ['weave', 'vethwe-bridge', 'vethwe-datapath', 'datapath', 'vxlan-6784'], ['datapath']],
    ] as const) {
      const { result } = await runLab(lab);
      const t: Trace = JSON.parse(JSON.stringify(result.trace));
      const d = new JSDOM(buildReport(t), { runScripts: 'dangerously', pretendToBeVisual: true });
      const doc = d.window.document;
      const drawn = (host: string, device: string) => doc.querySelector(`g.device[data-host="${host}"][data-netns="${host}"][data-device="${device}"]`);
      for (const host of ['r0', 'r1']) for (const device of devices) expect([host, device, drawn(host, device) !== null]).toEqual([host, device, true]);
      expect(drawn('r0', 'datapath')?.getAttribute('class')).toBe(lab === 'weave-fastdp' ? 'device openvswitch' : undefined);
      const router = drawn('r0', 'weaver')!;
      expect(router.getAttribute('class')).toBe('device program');
      expect(router.querySelector('rect')).not.toBeNull();
      // Its dashed lines end at the devices it works on.
      const at = (device: string) => { const c = drawn('r0', device)!.querySelector('circle')!; return `${c.getAttribute('cx')},${c.getAttribute('cy')}`; };
      const ends = [...doc.querySelectorAll('line.program-link')].map((l) => `${l.getAttribute('x2')},${l.getAttribute('y2')}`);
      for (const device of program) expect(ends).toContain(at(device));
      if (lab === 'weave-sleeve') {
        const sel = doc.querySelector('#flow') as HTMLSelectElement;
        const ping = t.flows.findIndex((f) => f.kind === 'icmp-echo');
        sel.value = String(ping);
        sel.dispatchEvent(new d.window.Event('change'));
        const encap = t.flows[ping].hops.findIndex((h) => h.step === 4 && h.actor === 'weaver' && h.host === 'r0');
        (doc.querySelector(`tr[data-hop="${encap}"]`) as HTMLElement).dispatchEvent(new d.window.MouseEvent('click', { bubbles: true }));
        expect(doc.querySelector('g.device.current')?.getAttribute('data-device')).toBe('weaver');
      }
      d.window.close();
    }
  });

  test('a drop shows where and why', async () => {
    const { result } = await runLab('container-leaves');
    const t: Trace = JSON.parse(JSON.stringify(result.trace));
    const d = new JSDOM(buildReport(t), { runScripts: 'dangerously', pretendToBeVisual: true });
    const sel = d.window.document.querySelector('#flow') as HTMLSelectElement;
    sel.value = String(t.flows.length - 1);
    sel.dispatchEvent(new d.window.Event('change'));
    const drop = d.window.document.querySelector('tr.drop') as HTMLElement;
    expect(drop.getAttribute('data-step')).toBe('4');
    drop.dispatchEvent(new d.window.MouseEvent('click', { bubbles: true }));
    expect(d.window.document.querySelector('.drop-reason')!.textContent).toMatch(/^Dropped: no fdb entry for 02:42:0a:00:01:04/);
    d.window.close();
  });
});

describe('cnmlab viz', () => {
  test('writes one self-contained file from a trace or a scenario; bad input is exit 2', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-viz-'));
    const tracePath = path.join(dir, 't.json');
    fs.writeFileSync(tracePath, JSON.stringify(trace));
    for (const input of [tracePath, 'scenarios/overlay-standalone.yaml']) {
      const out = path.join(dir, 'r.html');
      expect(cnmlab(['viz', input, '-o', out]).status).toBe(0);
      const html = fs.readFileSync(out, 'utf8');
      expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|<img|@import|url\(/);
      // The only URLs are d3's XML namespace names, which are never fetched.
      expect([...new Set(html.match(/https?:\/\/[^"'\s)]+/g))].filter((u) => !u.startsWith('http://www.w3.org/'))).toEqual([]);
      expect(html).toContain("default-src 'none'");
    }
    fs.writeFileSync(path.join(dir, 'bad.json'), '{"format":"nope"}');
    const r = cnmlab(['viz', path.join(dir, 'bad.json')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bad\.json: not a cnmlab-trace\/1 trace/);
    fs.rmSync(dir, { recursive: true });
  });
});

describeWith(['tshark'], false, 'field values as Wireshark prints them', () => {
  test('every field of the seed lab\'s VXLAN, ARP and DNS frames reads as in `tshark -V`', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-fields-'));
    try {
      expect(cnmlab(['run', 'scenarios/overlay-standalone.yaml', '--json', '--pcap-dir', dir]).status).toBe(0);
      const files = fs.readdirSync(dir);
      const checked: string[] = [];
      const wrong: string[] = [];
      // r0's eth0 holds ARP on the underlay and the VXLAN frames (among dockerd's own); the container's lo the DNS exchange.
      for (const name of [files.find((f) => /^r0-r0-eth0\.pcap$/.test(f))!, files.find((f) => /-lo\.pcap$/.test(f))!]) {
        const pcap = path.join(dir, name);
        const cap = await readCapture(pcap);
        const judged = cap.frames.filter((f) => dissect(f.data, f.linktype).some((l) => ['arp', 'vxlan', 'dns'].includes(l.proto)));
        for (const frame of judged.slice(0, 4)) {
          const details = execFileSync('tshark', ['-r', pcap, '-V', '-Y', `frame.number == ${frame.index}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
          for (const layer of dissect(frame.data, frame.linktype)) {
            for (const [field, value] of Object.entries(layer)) {
              // tshark leaves checksum validation off by default; cnmlab checks them and says so.
              if (field === 'proto' || field.endsWith('.checksum.status')) continue;
              // A query has no reply code to print.
              if (field === 'dns.flags.rcode' && layer['dns.flags.response'] === false) continue;
              checked.push(field);
              const shown = Array.isArray(value) ? value.map((v) => fieldText(field, v).shown) : [fieldText(field, value).shown];
              for (const one of shown) if (!details.includes(one)) wrong.push(`${name}#${frame.index} ${field}: '${one}'`);
            }
          }
        }
      }
      expect(wrong).toEqual([]);
      for (const f of ['vxlan.flags', 'eth.type', 'ip.proto', 'ip.id', 'icmp.type', 'arp.opcode', 'dns.flags.response', 'dns.flags.rcode', 'dns.qry.type']) expect(checked).toContain(f);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Debian's chromium, headless and quiet: no network, no updates, no sync, a fresh profile. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

type Rect = { left: number; top: number; right: number; bottom: number };
const inside = (a: Rect, b: Rect) => a.left >= b.left && a.right <= b.right && a.top >= b.top && a.bottom <= b.bottom;
const intersects = (a: Rect, b: Rect) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

describeWith(['chromium'], false, 'report in headless Chromium', () => {
  let dir: string;
  let file: string;
  let context: BrowserContext;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-chromium-'));
    file = path.join(dir, 'seed.html');
    fs.writeFileSync(file, buildReport(trace));
    context = await chromium.launchPersistentContext(path.join(dir, 'profile'), { executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, reducedMotion: 'reduce' });
  });
  afterAll(async () => {
    await context?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const [width, height] of [[1400, 900], [800, 900]]) {
    test(`${width}×${height}: every hop's device is in the visible topology panel, labels never overlap, no errors or requests`, async () => {
      const page = await context.newPage();
      await page.setViewportSize({ width, height });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`file://${file}`);
      await page.waitForSelector('body[data-ready="true"]');

      // The topology panel is on screen, below the header, not under it.
      const panel = await page.$eval('#topology svg', (el) => el.getBoundingClientRect().toJSON() as Rect);
      const header = await page.$eval('header', (el) => el.getBoundingClientRect().toJSON() as Rect);
      expect(panel.top).toBeGreaterThanOrEqual(header.bottom);
      expect(panel.bottom).toBeLessThanOrEqual(height);

      const labels = await page.$$eval('svg.topology .label', (els) => els.map((e) => ({ text: e.textContent, ...(e.getBoundingClientRect().toJSON() as Rect) })));
      expect(labels.length).toBeGreaterThan(20);
      const overlaps = labels.flatMap((a, i) => labels.slice(i + 1).filter((b) => intersects(a, b)).map((b) => `${a.text} × ${b.text}`));
      expect(overlaps).toEqual([]);

      const hops = trace.flows[0].hops;
      const missed: string[] = [];
      for (let i = 0; i < hops.length; i++) {
        if (i > 0) await page.keyboard.press('ArrowRight');
        const at = await page.evaluate(() => {
          const box = (sel: string) => document.querySelector(sel)?.getBoundingClientRect().toJSON();
          return { row: document.querySelector('tr[aria-current="step"]')?.getAttribute('data-hop'), packet: box('circle.packet'), device: box('g.device.current circle') };
        });
        expect(at.row).toBe(String(i));
        const h = hops[i];
        // Hops on lo (DNS) and on the underlay wire have no device circle; the packet marks them.
        const where = at.device ?? at.packet;
        if (h.device !== 'lo' && h.host !== 'underlay' && !at.device) missed.push(`hop ${i}: ${h.host}/${h.netns}/${h.device} not drawn`);
        else if (!inside(where, panel)) missed.push(`hop ${i}: ${h.host}/${h.netns}/${h.device} outside the panel`);
        if (!inside(at.packet, panel)) missed.push(`hop ${i}: packet outside the panel`);
      }
      expect(missed).toEqual([]);

      // The packet's layers are on screen with it: the inspector's first layer is in the viewport.
      const firstLayer = await page.$eval('#inspector fieldset.layer', (el) => el.getBoundingClientRect().toJSON() as Rect);
      expect(firstLayer.top).toBeLessThan(height);
      expect(firstLayer.top).toBeGreaterThanOrEqual(header.bottom);

      await page.keyboard.press('Home');
      await page.click('tr[data-step="4"]:has-text("encap")');
      expect(await page.textContent('#inspector [data-field="vxlan.flags"] .value')).toMatch(/^0x0800\b/);
      expect(await page.textContent('#flow option')).toBe('step 10 · ubuntu0: ping -c 3 ubuntu1 (ping-1: icmp-echo ubuntu0 → ubuntu1)');
      expect(await page.$$eval('#legend li', (els) => els.length)).toBeGreaterThanOrEqual(8);

      fs.mkdirSync(path.join(REPO, 'test-artifacts'), { recursive: true });
      // Clicking the row scrolled the panels' container; show the encapsulation step from the top.
      await page.$eval('main', (m) => m.scrollTo(0, 0));
      await page.screenshot({ path: path.join(REPO, 'test-artifacts', `report-${width}x${height}.png`) });
      expect(errors).toEqual([]);
      expect(requests).toEqual([`file://${file}`]);
      await page.close();
    });
  }

  test('the container → outside lab: every hop of the gwbridge path is drawn at its device (docker_gwbridge, both hosts\' eth0), the wire between them marked', async () => {
    const { result } = await runLab('container-to-outside');
    const outside: Trace = JSON.parse(JSON.stringify(result.trace));
    const index = outside.flows.findIndex((f) => f.path === 'gwbridge');
    const report = path.join(dir, 'outside.html');
    fs.writeFileSync(report, buildReport(outside));
    const page = await context.newPage();
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.goto(`file://${report}`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.selectOption('#flow', String(index));
    const hops = outside.flows[index].hops;
    const drawn: string[] = [];
    for (let i = 0; i < hops.length; i++) {
      if (i > 0) await page.keyboard.press('ArrowRight');
      const at = await page.evaluate(() => ({ row: document.querySelector('tr[aria-current="step"]')?.getAttribute('data-hop'), device: !!document.querySelector('g.device.current circle'), packet: !!document.querySelector('circle.packet') }));
      expect(at.row).toBe(String(i));
      const h = hops[i];
      drawn.push(`${h.host}/${h.device}: ${h.host === 'underlay' ? at.packet : at.device}`);
    }
    expect(drawn.filter((d) => !d.endsWith('true'))).toEqual([]);
    expect(drawn).toEqual(expect.arrayContaining(['r0/docker_gwbridge: true', 'r0/eth0: true', 'underlay/segment: true', 'r1/eth0: true']));
    await page.close();
  });

  test("a comparison of every implemented driver (issue 16's six among them): a tab each in the table's order, each opening its driver's trace on its ping, the packet walking its path", async () => {
    const bundleFile = path.join(dir, 'compare.json');
    expect(cnmlab(['compare', '--trace', bundleFile]).status).toBe(0);
    const bundle = JSON.parse(fs.readFileSync(bundleFile, 'utf8'));
    const report = path.join(dir, 'compare.html');
    fs.writeFileSync(report, buildReport(bundle));
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.goto(`file://${report}`);
    await page.waitForSelector('body[data-ready="true"]');
    const drivers: string[] = bundle.runs.map((r: { driver: string }) => r.driver);
    expect(drivers).toEqual(expect.arrayContaining(['overlay', 'flannel-vxlan', 'flannel-host-gw', 'calico-bgp', 'calico-ipip', 'calico-vxlan']));
    expect(await page.$$eval('#tabs [role="tab"]', (els) => els.map((e) => e.textContent))).toEqual(drivers);
    for (const driver of drivers) {
      await page.click(`#tabs [data-driver="${driver}"]`);
      expect(await page.getAttribute(`#tabs [data-driver="${driver}"]`, 'aria-selected')).toBe('true');
      expect(await page.textContent('#title')).toMatch(new RegExp(`^${driver}: `));
      expect(await page.textContent('#flow option:checked')).toMatch(/c0: ping -c 1 /);
      // Its path's last step is on the way: End goes to the flow's last hop, the reply delivered.
      await page.keyboard.press('End');
      expect(await page.$eval('tr[aria-current="step"]', (tr) => tr.textContent)).toMatch(/deliver/);
    }
    expect(errors).toEqual([]);
    await page.close();
  });

  test('keyboard: arrows step, space plays and pauses, Home/End; focus is visible; controls are labelled', async () => {
    const page = await context.newPage();
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.goto(`file://${file}`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    expect(await page.getAttribute('tr[aria-current="step"]', 'data-hop')).toBe('2');
    await page.keyboard.press('ArrowLeft');
    expect(await page.getAttribute('tr[aria-current="step"]', 'data-hop')).toBe('1');
    await page.keyboard.press('End');
    expect(await page.getAttribute('tr[aria-current="step"]', 'data-hop')).toBe(String(trace.flows[0].hops.length - 1));
    await page.keyboard.press('Home');
    expect(await page.getAttribute('tr[aria-current="step"]', 'data-hop')).toBe('0');
    await page.keyboard.press(' ');
    expect(await page.getAttribute('[data-action="play"]', 'aria-pressed')).toBe('true');
    await page.keyboard.press(' ');
    expect(await page.getAttribute('[data-action="play"]', 'aria-pressed')).toBe('false');
    // Tab reaches the controls, and the focused one shows an outline.
    await page.focus('[data-action="next"]');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Tab');
    const outline = await page.$eval('[data-action="next"]', (el) => ({ focused: el === document.activeElement, style: getComputedStyle(el).outlineStyle, width: getComputedStyle(el).outlineWidth }));
    expect(outline).toEqual({ focused: true, style: 'solid', width: '3px' });
    const unlabelled = await page.$$eval('button, select', (els) => els.filter((e) => !e.getAttribute('aria-label') && !e.closest('label')).map((e) => e.outerHTML));
    expect(unlabelled).toEqual([]);
    expect(await page.getAttribute('#events table', 'aria-label')).toMatch(/hops/i);
    expect(await page.getAttribute('svg.topology', 'role')).toBe('img');
    await page.close();
  });
});
