/** The report: view builders in jsdom, and the whole page in real Chromium. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { JSDOM } from 'jsdom';
import { chromium } from 'playwright-core';
import { buildReport } from '../viz/report';
import { layoutTopology } from '../viz/app/layout';
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
    expect(new Set(rows.map((r) => r.getAttribute('data-step')))).toEqual(new Set(['0', '1', '2', '3', '4', '5', '6', '7', '8', '-']));
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
    const step4 = $$('tr[data-step="4"]')[0] as HTMLElement;
    step4.dispatchEvent(new dom.window.MouseEvent('click', { bubbles: true }));
    expect($('tr[aria-current="step"]')).toBe(step4);
    expect($('#inspector [data-field="vxlan.vni"] .value')!.textContent).toBe('4097');
    // Encapsulation is nesting: the inner Ethernet sits inside the VXLAN layer.
    expect($('#inspector fieldset.vxlan fieldset.eth')).not.toBeNull();
    expect($$('#inspector fieldset.layer').map((f) => f.getAttribute('data-proto'))).toEqual(['eth', 'ip', 'udp', 'vxlan', 'eth', 'ip', 'icmp']);
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

describeWith(['chromium'], false, 'report in headless Chromium', () => {
  test('the seed lab report: no console errors or requests, 16+ hop rows over steps 1–8, next moves aria-current, vxlan.vni 4097 at step 4', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-chromium-'));
    const file = path.join(dir, 'seed.html');
    fs.writeFileSync(file, buildReport(trace));
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`file://${file}`);
      await page.waitForSelector('body[data-ready="true"]');
      expect(errors).toEqual([]);
      expect(requests).toEqual([`file://${file}`]);
      const steps = await page.$$eval('tr[data-hop]', (rows) => rows.map((r) => r.getAttribute('data-step')));
      expect(steps.length).toBeGreaterThanOrEqual(16);
      for (const s of ['1', '2', '3', '4', '5', '6', '7', '8']) expect(steps).toContain(s);
      await page.click('[data-action="next"]');
      expect(await page.getAttribute('tr[aria-current="step"]', 'data-hop')).toBe('1');
      await page.keyboard.press('ArrowRight');
      expect(await page.getAttribute('tr[aria-current="step"]', 'data-hop')).toBe('2');
      await page.click('tr[data-step="4"]');
      expect(await page.textContent('#inspector [data-field="vxlan.vni"] .value')).toBe('4097');
      fs.mkdirSync(path.join(REPO, 'test-artifacts'), { recursive: true });
      await page.screenshot({ path: path.join(REPO, 'test-artifacts', 'seed-report.png') });
    } finally {
      await browser.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
