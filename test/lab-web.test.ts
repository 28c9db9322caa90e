/**
 * The browser lab (`cnmlab lab --web`) in headless Chromium: the seed tutorial typed into the
 * page's terminals prints what `cnmlab run` prints (whose transcript is golden), each command
 * answers within 100 ms and the ping line by line, the walk of the ping draws its 8 steps,
 * the checklist turns green, the downloads are a scenario, a trace and a capture; no console
 * errors, nothing fetched, one file of at most 2 MB ready within 1 s.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BrowserContext, chromium, Page } from 'playwright-core';
import { describeWith, REPO } from './helpers/env';
import { loadScenario, parseScenario } from '../sim/scenario/load';
import { traceProblem } from '../sim/trace/validate';

const CLI = path.join(REPO, 'bin', 'cnmlab.js');
/** Debian's chromium, headless and quiet: no network, no updates, no sync, a fresh profile. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SEED = 'scenarios/overlay-standalone.yaml';

describeWith(['chromium'], false, 'browser lab in headless Chromium', () => {
  let dir: string;
  let file: string;
  let context: BrowserContext;
  let run: { steps: { on: string; command: string; stdout: string; stderr: string }[] };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-lab-web-'));
    file = path.join(dir, 'lab.html');
    const made = spawnSync(process.execPath, [CLI, 'lab', '--web', SEED, '-o', file], { cwd: REPO, encoding: 'utf8' });
    expect(made.stderr).toMatch(new RegExp(`^cnmlab: wrote ${file} \\(overlay-standalone, 11 step\\(s\\), \\d+ KiB\\)\\n$`));
    expect(made.status).toBe(0);
    run = JSON.parse(spawnSync(process.execPath, [CLI, 'run', SEED, '--json'], { cwd: REPO, encoding: 'utf8', maxBuffer: 1 << 26 }).stdout);
    context = await chromium.launchPersistentContext(path.join(dir, 'profile'), { executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, reducedMotion: 'reduce', acceptDownloads: true, viewport: { width: 1400, height: 1000 } });
  });
  afterAll(async () => {
    await context?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('one self-contained file of at most 2 MB, with a CSP that allows nothing from outside', () => {
    const html = fs.readFileSync(file, 'utf8');
    expect(Buffer.byteLength(html)).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(html).toContain(`content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"`);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
  });

  /** Types a command into a terminal and waits until it has answered; returns what it printed after the command's line. */
  async function type(page: Page, on: string, command: string): Promise<{ shown: string; ms: number }> {
    await page.click(`#tabs .tab[data-tab="${on}"]`);
    const term = `.term[data-terminal="${on}"]`;
    const ran = Number((await page.getAttribute(term, 'data-ran')) ?? '0');
    const before = (await page.textContent(`${term} .screen`)) ?? '';
    await page.fill(`${term} input.typed`, command);
    await page.press(`${term} input.typed`, 'Enter');
    await page.waitForSelector(`${term}[data-ran="${ran + 1}"]`, { timeout: 20000 });
    const after = (await page.textContent(`${term} .screen`)) ?? '';
    const echoed = after.slice(before.length);
    const firstLine = echoed.indexOf('\n') + 1;
    return { shown: echoed.slice(firstLine), ms: Number(await page.getAttribute(term, 'data-last-ms')) };
  }

  test('the seed tutorial typed into the terminals prints what cnmlab run prints; the ping walks steps 1 to 8', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => requests.push(r.url()));
    // The suite may meet a fresh Chromium reading the bundle from a cold disk, which no later visit pays:
    // one load first, so the second measures the lab's own start.
    const warm = await context.newPage();
    await warm.goto(`file://${file}`);
    await warm.waitForSelector('body[data-lab-ready]');
    await warm.close();
    await page.goto(`file://${file}`);
    await page.waitForSelector('body[data-lab-ready]');
    // Ready to type within a second of the navigation's start.
    expect(Number(await page.getAttribute('body', 'data-lab-ready'))).toBeLessThan(1000);
    expect(await page.textContent('.term[data-terminal="r0"] .prompt')).toBe('r0$ ');
    expect(await page.$$eval('#checklist li', (els) => els.length)).toBe(11);

    const strip = (s: string) => s.replace(/^[✓✗] expect .*\n/gm, '');
    for (const [i, step] of loadScenario(path.join(REPO, SEED)).steps.entries()) {
      const isPing = step.command.startsWith('ping');
      if (isPing) {
        // The replies come as time passes: the first is on screen before the statistics.
        const term = `.term[data-terminal="${step.on}"]`;
        expect(await page.textContent(`${term} .prompt`)).toBe(`root@${step.on}:/# `);
        await page.click(`#tabs .tab[data-tab="${step.on}"]`);
        const typed = type(page, step.on, step.command);
        await page.waitForFunction((t) => /icmp_seq=1 /.test(document.querySelector(`${t} .screen`)?.textContent ?? ''), term);
        expect(await page.textContent(`${term} .screen`)).not.toMatch(/ping statistics/);
        const { shown } = await typed;
        expect(strip(shown)).toBe(run.steps[i].stdout + run.steps[i].stderr);
        expect(shown).toMatch(/✓ expect path: overlay\n$/);
      } else {
        const { shown, ms } = await type(page, step.on, step.command);
        expect(strip(shown)).toBe(run.steps[i].stdout + run.steps[i].stderr);
        expect(ms).toBeLessThan(100);
      }
    }
    // The walk of the ping: every one of the eight steps is a row of its hops.
    const steps = await page.$$eval('#events tr[data-step]', (rows) => [...new Set(rows.map((r) => r.getAttribute('data-step')))]);
    expect(['1', '2', '3', '4', '5', '6', '7', '8'].every((s) => steps.includes(s))).toBe(true);
    expect(await page.$$eval('#topology g.device', (els) => els.length)).toBeGreaterThan(8);
    // Every step of the lab was met; a met step is green.
    expect(await page.$$eval('#checklist li.met', (els) => els.length)).toBe(11);
    expect(await page.$eval('#checklist li.met', (el) => getComputedStyle(el).backgroundColor)).toBe('rgb(230, 244, 234)');

    // Step through the walk to the encapsulation, as a student would, and keep a picture.
    await page.click('#events tr[data-step="4"]');
    fs.mkdirSync(path.join(REPO, 'test-artifacts'), { recursive: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(REPO, 'test-artifacts', 'lab.png'), fullPage: true });

    // Downloads: the session as a scenario run replays, the trace, a capture.
    const download = async (what: string) => {
      const [d] = await Promise.all([page.waitForEvent('download'), page.click(`[data-download="${what}"]`)]);
      return fs.readFileSync((await d.path())!);
    };
    const saved = parseScenario('session.yaml', (await download('scenario')).toString('utf8'));
    expect(saved.steps.map((s) => [s.on, s.command])).toEqual(run.steps.map((s) => [s.on, s.command]));
    expect(traceProblem(JSON.parse((await download('trace')).toString('utf8')))).toBeUndefined();
    const pcap = await download('pcap');
    expect(pcap.readUInt32LE(0)).toBe(0xa1b23c4d);
    expect(pcap.length).toBeGreaterThan(24);

    expect(errors).toEqual([]);
    expect(requests.filter((u) => !u.startsWith('blob:'))).toEqual([`file://${file}`]);
    await page.close();
  }, 120000);

  test('Ctrl-C stops a ping without -c, with its statistics', async () => {
    const page = await context.newPage();
    await page.goto(`file://${file}`);
    await page.waitForSelector('body[data-lab-ready]');
    for (const step of loadScenario(path.join(REPO, SEED)).steps.slice(0, 6)) await type(page, step.on, step.command);
    const term = '.term[data-terminal="ubuntu0"]';
    await page.click('#tabs .tab[data-tab="ubuntu0"]');
    await page.fill(`${term} input.typed`, 'ping ubuntu1');
    await page.press(`${term} input.typed`, 'Enter');
    await page.waitForFunction((t) => /icmp_seq=2 /.test(document.querySelector(`${t} .screen`)?.textContent ?? ''), term);
    await page.press(`${term} input.typed`, 'Control+c');
    await page.waitForSelector(`${term}[data-ran="1"]`);
    expect(await page.textContent(`${term} .screen`)).toMatch(/icmp_seq=2 [^\n]*\n\^C\n--- ubuntu1 ping statistics ---\n[23] packets transmitted, [23] received/);
    await page.close();
  }, 60000);

  test('at a laptop (1366×768) and a small window (800×600), a ping\'s walk never widens the page past the window', async () => {
    const page = await context.newPage();
    await page.goto(`file://${file}`);
    await page.waitForSelector('body[data-lab-ready]');
    for (const step of loadScenario(path.join(REPO, SEED)).steps.slice(0, 6)) await type(page, step.on, step.command);
    // The flow's label (step, place, command) is the longest line of the walk's controls.
    await type(page, 'ubuntu0', 'ping -c 1 ubuntu1');
    for (const [width, height] of [[1366, 768], [800, 600]]) {
      await page.setViewportSize({ width, height });
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
    }
    await page.close();
  }, 60000);

  test("the terminal lab's : commands that Tab offers answer in the page: :help, :path, :on, and where :save is", async () => {
    const page = await context.newPage();
    await page.goto(`file://${file}`);
    await page.waitForSelector('body[data-lab-ready]');
    const input = '.term[data-terminal="r0"] input.typed';
    await page.fill(input, ':h');
    await page.press(input, 'Tab');
    expect(await page.inputValue(input)).toBe(':help ');
    expect((await type(page, 'r0', ':help')).shown).toMatch(/^Type commands as on the hosts[\s\S]*:path +the last ping's path/);
    expect((await type(page, 'r0', ':path')).shown).toBe('no ping yet\n');
    expect((await type(page, 'r0', ':save s.yaml')).shown).toMatch(/^:save: in the page, the button "session as a scenario \(\.yaml\)"/);
    expect((await type(page, 'r0', ':on r1')).shown).toBe('');
    expect(await page.textContent('.term[data-terminal="r0"] .prompt')).toBe('r1$ ');
    expect(await page.textContent('.term[data-terminal="r0"] .screen')).not.toMatch(/not modelled/);
    await page.close();
  }, 60000);
});
