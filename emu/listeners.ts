/**
 * dockerd's sockets in emu. emu runs no dockerd; the plan's sockets (socket.listen/close:
 * memberlist's 7946, the swarm API's 2377) are held by one small Node process per host
 * namespace, so the real kernel has them and `ss` shows them as on a Docker host: the same
 * addresses, ports, states and backlog (Go asks 4096, the kernel's somaxconn). Only `ss -p`
 * would tell the holder's name (node, not dockerd), and nothing answers on them: no gossip,
 * no swarm API. In a container sandbox the embedded DNS's responder (dns.ts) holds the
 * resolver's UDP and TCP sockets, and answers on them.
 */
import { ChildProcess, spawn } from 'child_process';
import type { ListeningSocket } from '../sim/plan/ops';
import { EmuEnvironmentError, RunRecord } from './state';

/** argv[1] of a holder: how `cnmlab clean` recognises one of ours (clean.ts). */
export const LISTENER_MARK = 'cnmlab-listener';

/** The holder: binds every socket given as JSON, says `ready`, then waits to be killed. */
const SCRIPT = `
const net = require('net'), dgram = require('dgram');
const sockets = JSON.parse(process.argv[2]);
let pending = sockets.length;
const bound = () => { if (--pending === 0) process.stdout.write('ready\\n'); };
const fail = (e) => { process.stderr.write(String(e.message) + '\\n'); process.exit(1); };
for (const s of sockets) {
  const host = s.address === '*' ? '::' : s.address;
  if (s.proto === 'tcp') net.createServer().on('error', fail).listen({ host, port: s.port, backlog: 4096, ipv6Only: false }, bound);
  else dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', ipv6Only: false }).on('error', fail).bind(s.port, host, bound);
}
`;

type SocketOp = { netns: string; op: 'socket.listen' | 'socket.close'; socket: ListeningSocket };

export class Listeners {
  /** Per real namespace: the sockets held, and the holder. */
  private readonly held = new Map<string, { sockets: ListeningSocket[]; holder?: ChildProcess }>();

  constructor(private readonly record: RunRecord) {}

  /**
   * Applies a step's socket ops. A holder starts only when a command runs on its host (sync),
   * as the DNS servers do: setup stays fast, and a host nobody types on needs none. One whose
   * set changed stops now (a closed socket must be gone) and starts again when next wanted.
   */
  async apply(ops: SocketOp[]): Promise<void> {
    const changed = new Set<string>();
    for (const o of ops) {
      const h = this.held.get(o.netns) ?? { sockets: [] };
      this.held.set(o.netns, h);
      const same = (s: ListeningSocket) => s.proto === o.socket.proto && s.address === o.socket.address && s.port === o.socket.port;
      h.sockets = o.op === 'socket.listen' ? [...h.sockets, o.socket] : h.sockets.filter((s) => !same(s));
      changed.add(o.netns);
    }
    await Promise.all([...changed].map((netns) => this.stopHolder(netns)));
  }

  /** Starts the holder of a namespace that has sockets to hold and none holding them. */
  async sync(netns: string): Promise<void> {
    const h = this.held.get(netns);
    if (h && !h.holder && h.sockets.length > 0) h.holder = await this.start(netns, h.sockets);
  }

  /** A kept lab's hosts are entered with `ip netns exec`, not through a step: every holder starts. */
  async startEvery(): Promise<void> {
    await Promise.all([...this.held.keys()].map((netns) => this.sync(netns)));
  }

  private start(netns: string, sockets: ListeningSocket[]): Promise<ChildProcess> {
    // `ip netns exec` execs Node in place: the pid is the holder's.
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', SCRIPT, LISTENER_MARK, JSON.stringify(sockets)], { stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid) this.record.addPid(child.pid);
    return new Promise((resolve, reject) => {
      let err = '';
      child.on('error', reject);
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.stdout!.on('data', (d: Buffer) => {
        if (!d.toString().includes('ready')) return;
        // Held from now on without keeping cnmlab alive: a kept lab's holders outlive it, until `cnmlab clean`.
        child.stdout!.destroy();
        child.stderr!.destroy();
        child.unref();
        resolve(child);
      });
      child.on('exit', (code) => reject(new EmuEnvironmentError(`the sockets dockerd holds in ${netns} could not be opened (exit ${code}): ${err.trim()}`)));
    });
  }

  private async stopHolder(netns: string): Promise<void> {
    const h = this.held.get(netns);
    const child = h?.holder;
    if (!h || !child) return;
    h.holder = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      // Waited for: it must keep cnmlab alive again until it is gone.
      child.ref();
      child.kill('SIGKILL');
      await gone;
    }
    if (child.pid) this.record.forgetPid(child.pid);
  }

  /** Stops a namespace's holder before the namespace goes (a process would keep it alive). */
  async stop(netns: string): Promise<void> {
    await this.stopHolder(netns);
    this.held.delete(netns);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.held.keys()].map((netns) => this.stop(netns)));
  }
}
