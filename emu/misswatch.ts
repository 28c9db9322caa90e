/**
 * dockerd's watchMiss in emu (classic overlay mode; sim/kernel/watchmiss.ts is sim's). emu
 * runs no dockerd: for each overlay namespace the plan subscribes (miss.watch), a small Node
 * process reads the real kernel's neighbour notifications with `ip -n NS monitor neigh`
 * (vxlan0's l3miss prints `miss 10.0.0.2 dev vxlan0 STALE`, its l2miss `miss dev vxlan0
 * lladdr 02:42:0a:00:00:02 STALE`), keeps those of the network's subnet as libnetwork does
 * (an l2miss's address is the MAC's last four bytes), and programs the answer with the real
 * `ip neigh replace … nud permanent` and `bridge fdb replace … self permanent`.
 *
 * The answer is the model's: libnetwork resolves a miss with a serf query to the other
 * dockerds (peerlookup), not from the store, and emu runs no serf. What the members' peer
 * databases would answer (the network driver's peerAnswers) is written to a file of the run's state
 * folder before each step, and the handler reads it at the miss. So the kernel's side (the
 * miss, its timing, the entries, the ARP answered on its next try) is real; the query's
 * round trip over UDP 7946 is not on the wire, and the handler answers as soon as it reads
 * the file rather than after serf's gossip round. Each miss and what came of it is logged
 * (JSON lines, wall-clock ns) for the trace.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ChildProcess, spawn } from 'child_process';
import type { World } from '../sim/model/world';
import { peerAnswers } from '../sim/model/drivers';
import { EmuEnvironmentError, RunRecord } from './state';
import { killQuietly, pollUntil } from './nsworker';

/** argv[1] of a handler: how `cnmlab clean` recognises one of ours (clean.ts). */
export const MISSWATCH_MARK = 'cnmlab-misswatch';

/**
 * The handler: argv is the mark, the namespace, the device, the subnet, the answers file and
 * the log. It prints `ready PID` (its `ip monitor`'s pid, for the state file) once
 * subscribed, then handles misses until killed.
 */
const SCRIPT = `
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const [, ns, dev, subnet, answersFile, logFile] = process.argv.slice(1);
const base = BigInt(Date.now()) * 1000000n - process.hrtime.bigint();
const now = () => String(base + process.hrtime.bigint());
const log = (e) => fs.appendFileSync(logFile, JSON.stringify({ t: now(), ...e }) + '\\n');
const toNum = (ip) => ip.split('.').reduce((a, b) => a * 256 + Number(b), 0);
const [net, len] = subnet.split('/');
const inSubnet = (ip) => Math.floor(toNum(ip) / 2 ** (32 - Number(len))) === Math.floor(toNum(net) / 2 ** (32 - Number(len)));
const mon = spawn('ip', ['-n', ns, 'monitor', 'neigh'], { stdio: ['ignore', 'pipe', 'inherit'] });
let buf = '';
mon.stdout.on('data', (d) => {
  buf += d.toString();
  let nl;
  while ((nl = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, nl).trim();
    buf = buf.slice(nl + 1);
    const l3 = /^miss (\\d+\\.\\d+\\.\\d+\\.\\d+) dev (\\S+) .*STALE/.exec(line);
    const l2 = /^miss dev (\\S+) lladdr ((?:[0-9a-f]{2}:){5}[0-9a-f]{2}) .*STALE/.exec(line);
    const at = l3 ? { ip: l3[1], dev: l3[2] } : l2 ? { mac: l2[2], dev: l2[1], ip: l2[2].split(':').slice(2).map((b) => parseInt(b, 16)).join('.') } : undefined;
    if (!at || at.dev !== dev || !inSubnet(at.ip)) continue;
    log({ event: 'miss', ip: at.ip, ...(at.mac ? { mac: at.mac } : {}) });
    let answers = {};
    try { answers = JSON.parse(fs.readFileSync(answersFile, 'utf8')); } catch {}
    const a = answers[at.ip];
    if (!a) { log({ event: 'unanswered', ip: at.ip }); continue; }
    log({ event: 'answer', ip: at.ip, ...a });
    execFileSync('ip', ['-n', ns, 'neigh', 'replace', at.ip, 'lladdr', a.mac, 'dev', dev, 'nud', 'permanent']);
    execFileSync('bridge', ['-n', ns, 'fdb', 'replace', a.mac, 'dev', dev, 'dst', a.vtep, 'self', 'permanent']);
    log({ event: 'programmed', ip: at.ip, ...a });
  }
});
mon.on('exit', () => process.exit(1));
// ip monitor subscribes as it starts; give it that moment before saying so.
setTimeout(() => process.stdout.write('ready ' + mon.pid + '\\n'), 150);
`;

/** A logged event of a handler, as the trace reads it. */
export interface MissLogEntry {
  /** Wall-clock ns. */
  t: string;
  event: 'miss' | 'unanswered' | 'answer' | 'programmed';
  ip: string;
  mac?: string;
  vtep?: string;
  prefixLength?: number;
  answeredBy?: string;
  /** The answer's text as the daemon writes it (the model's, from the answers file). */
  payload?: string;
}

interface Watched {
  host: string;
  /** The namespace's name in the model (1-<id>), for the trace. */
  netns: string;
  dev: string;
  network: string;
  answers: string;
  log: string;
  pids: number[];
  child?: ChildProcess;
}

export class MissWatchers {
  /** By real namespace. */
  private readonly watched = new Map<string, Watched>();

  constructor(private readonly record: RunRecord) {}

  private get dir(): string {
    return path.join(this.record.dir, 'misswatch');
  }

  /** Starts a handler for each namespace subscribed (the namespace and its device exist by now). */
  async start(subs: { real: string; host: string; netns: string; dev: string; network: string; subnet: string }[], world: World): Promise<void> {
    for (const s of subs) {
      if (this.watched.has(s.real)) continue;
      fs.mkdirSync(this.dir, { recursive: true });
      const w: Watched = { host: s.host, netns: s.netns, dev: s.dev, network: s.network, answers: path.join(this.dir, `${s.real}.answers.json`), log: path.join(this.dir, `${s.real}.log`), pids: [] };
      this.watched.set(s.real, w);
      this.writeAnswers(w, world);
      const [program, ...args] = this.record.marked([process.execPath, '-e', SCRIPT, MISSWATCH_MARK, s.real, s.dev, s.subnet, w.answers, w.log]);
      const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      w.child = child;
      if (child.pid) {
        w.pids.push(child.pid);
        this.record.addPid(child.pid);
      }
      await new Promise<void>((resolve, reject) => {
        let err = '';
        child.on('error', reject);
        child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
        child.stdout!.on('data', (d: Buffer) => {
          const m = /ready (\d+)/.exec(d.toString());
          if (!m) return;
          w.pids.push(Number(m[1]));
          this.record.addPid(Number(m[1]));
          // Handled from now on without keeping cnmlab alive: a kept lab's handlers outlive it, until `cnmlab clean`.
          child.stdout!.destroy();
          child.stderr!.destroy();
          child.unref();
          resolve();
        });
        child.on('exit', (code) => reject(new EmuEnvironmentError(`the miss handler of ${s.real} stopped (exit ${code}): ${err.trim()}`)));
      });
    }
  }

  /** What a query from each watched namespace's host would be answered, as the cluster stands now. */
  refresh(world: World): void {
    for (const w of this.watched.values()) this.writeAnswers(w, world);
  }

  private writeAnswers(w: Watched, world: World): void {
    fs.writeFileSync(w.answers, JSON.stringify(peerAnswers(world, w.host, w.network)));
  }

  /** Every event logged since `sinceNs` (wall clock), with the namespace it happened in. */
  eventsSince(sinceNs: bigint): { host: string; netns: string; dev: string; e: MissLogEntry }[] {
    const out: { host: string; netns: string; dev: string; e: MissLogEntry }[] = [];
    for (const w of this.watched.values()) {
      if (!fs.existsSync(w.log)) continue;
      const lines = fs.readFileSync(w.log, 'utf8').split('\n');
      // The last piece is '' after a whole line, or a line the handler is writing as this reads: not yet an event.
      lines.pop();
      for (const line of lines) {
        const e = JSON.parse(line) as MissLogEntry;
        if (BigInt(e.t) >= sinceNs) out.push({ host: w.host, netns: w.netns, dev: w.dev, e });
      }
    }
    return out.sort((a, b) => (BigInt(a.e.t) < BigInt(b.e.t) ? -1 : 1));
  }

  /**
   * Resolves once every miss logged since `sinceNs` has its outcome logged, and every answer
   * its entries programmed (the handler logs that after `ip neigh` and `bridge fdb` return,
   * which a ping may outrun), or after `withinMs`.
   */
  async settled(sinceNs: bigint, withinMs = 1000): Promise<void> {
    await pollUntil(() => {
      const events = this.eventsSince(sinceNs);
      const count = (event: MissLogEntry['event']) => events.filter((x) => x.e.event === event).length;
      return count('miss') === count('answer') + count('unanswered') && count('answer') === count('programmed');
    }, withinMs);
  }

  /** Stops a namespace's handler (and its `ip monitor`) before the namespace goes. */
  async stop(real: string): Promise<void> {
    const w = this.watched.get(real);
    if (!w) return;
    this.watched.delete(real);
    for (const pid of w.pids) {
      killQuietly(pid, 'SIGKILL');
      this.record.forgetPid(pid);
    }
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.watched.keys()].map((real) => this.stop(real)));
  }
}
