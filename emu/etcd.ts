/**
 * The cluster's key-value store in emu: a real etcd (Debian's etcd-server), started the
 * first time a step writes to the store, in a namespace of the run's own
 * (`<prefix>._etcd`, no host's) listening on its loopback. The writes the model makes
 * (`etcdctl put` typed in a step, flanneld's lease) go to it with the real etcdctl, run in
 * that namespace: a write from a host's namespace would leave an ARP entry and traffic on
 * the underlay that no sim host has. Its data lives in the run's state folder and goes with it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import { must, run } from './exec';
import { NameMap } from './names';
import { RunRecord } from './state';

export const ETCD_CLIENT_PORT = 2379;
/** How long etcd may take to answer its first health check. */
const READY_MS = 20_000;

export class ClusterStore {
  private endpoint?: string;

  constructor(private readonly record: RunRecord, private readonly names: NameMap) {}

  get namespace(): string {
    return `${this.names.prefix}._etcd`;
  }

  /** Writes each key, starting the store first if it is not running yet. */
  async put(writes: { argv: string[] }[]): Promise<void> {
    if (writes.length === 0) return;
    const endpoint = await this.ensure();
    for (const w of writes) {
      const [verb, key, value] = w.argv;
      await must('ip', ['netns', 'exec', this.namespace, 'etcdctl', `--endpoints=${endpoint}`, verb, '--', key, value]);
    }
  }

  /** Every key under `prefix` as the real store holds it (for the tests that compare it with the model's). */
  async dump(prefix: string): Promise<Record<string, string>> {
    if (!this.endpoint) return {};
    const out = await must('ip', ['netns', 'exec', this.namespace, 'etcdctl', `--endpoints=${this.endpoint}`, 'get', '--prefix', prefix]);
    const lines = out.split('\n');
    const kv: Record<string, string> = {};
    for (let i = 0; i + 1 < lines.length; i += 2) if (lines[i]) kv[lines[i]] = lines[i + 1];
    return kv;
  }

  /** Starts the store (a dockerd started with --cluster-store connects to it), if it is not running yet. */
  async start(): Promise<void> {
    await this.ensure();
  }

  private async ensure(): Promise<string> {
    if (this.endpoint) return this.endpoint;
    const ns = this.namespace;
    this.record.addNamespaces([ns]);
    await must('ip', ['netns', 'add', ns]);
    await must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const dataDir = path.join(this.record.dir, 'etcd');
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const url = `http://127.0.0.1:${ETCD_CLIENT_PORT}`;
    const log = fs.openSync(path.join(dataDir, 'etcd.log'), 'a');
    const child = spawn('ip', ['netns', 'exec', ns, ...this.record.marked(['etcd', '--name', this.names.prefix, '--data-dir', dataDir,
      '--listen-client-urls', url, '--advertise-client-urls', url, '--listen-peer-urls', 'http://127.0.0.1:2380',
      '--initial-advertise-peer-urls', 'http://127.0.0.1:2380', '--initial-cluster', `${this.names.prefix}=http://127.0.0.1:2380`, '--logger', 'zap', '--log-outputs', 'stderr'])],
    { stdio: ['ignore', 'ignore', log], detached: true });
    fs.closeSync(log);
    child.unref();
    if (child.pid) this.record.addPid(child.pid);
    const until = Date.now() + READY_MS;
    for (;;) {
      const r = await run('ip', ['netns', 'exec', ns, 'etcdctl', `--endpoints=${url}`, '--command-timeout=1s', 'endpoint', 'health']);
      if (r.exitCode === 0) break;
      if (Date.now() > until) throw new Error(`etcd in ${ns} did not answer at ${url} within ${READY_MS / 1000} s: ${(r.stderr || r.stdout).trim()}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    this.endpoint = url;
    return url;
  }
}
