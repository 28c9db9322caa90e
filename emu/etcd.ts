/**
 * The cluster's key-value store in emu: a real etcd (Debian's etcd-server), started the
 * first time a step writes to the store, in a namespace of the run's own
 * (`<prefix>._etcd`) plugged into the underlay segment beside the hosts. The writes the
 * model makes (`etcdctl put` typed in a step, flanneld's lease) go to it with the real
 * etcdctl, run in the writing host's namespace, so they cross the underlay as they would
 * between machines. Its data lives in the run's state folder and goes with it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import { hostOf, World } from '../sim/model/world';
import { ipv4ToNumber, maskOf, numberToIpv4 } from '../sim/wire/addr';
import { UNDERLAY_BRIDGE } from '../sim/plan/iproute2';
import { batch, must, run } from './exec';
import { NameMap, safeValue } from './names';
import { RunRecord } from './state';

export const ETCD_CLIENT_PORT = 2379;
/** The store's end of its cable on the underlay bridge, and its interface in its namespace. */
const STORE_PORT = 'u-_etcd';
const STORE_IFACE = 'eth0';
/** How long etcd may take to answer its first health check. */
const READY_MS = 20_000;

/**
 * The store's address on the underlay: the first address of the first host's segment from
 * .2 up that no host has (hosts sit at .10 and above in the bundled labs).
 */
export function storeAddress(world: World): { ip: string; prefixLength: number } {
  const first = hostOf(world, world.hostOrder[0]);
  const taken = new Set(world.hostOrder.map((h) => hostOf(world, h).underlay));
  const base = (ipv4ToNumber(first.underlay) & maskOf(first.underlayPrefix)) >>> 0;
  for (let i = 2; ; i++) {
    const ip = numberToIpv4((base + i) >>> 0);
    if (!taken.has(ip)) return { ip, prefixLength: first.underlayPrefix };
  }
}

export class ClusterStore {
  private endpoint?: string;

  constructor(private readonly record: RunRecord, private readonly names: NameMap) {}

  get namespace(): string {
    return `${this.names.prefix}._etcd`;
  }

  /** Writes each key from the namespace named, starting the store first if it is not running yet. */
  async put(world: World, writes: { netns: string; argv: string[] }[]): Promise<void> {
    if (writes.length === 0) return;
    const endpoint = await this.ensure(world);
    for (const w of writes) {
      const [verb, key, value] = w.argv;
      await must('ip', ['netns', 'exec', w.netns, 'etcdctl', `--endpoints=${endpoint}`, verb, '--', key, value]);
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

  private async ensure(world: World): Promise<string> {
    if (this.endpoint) return this.endpoint;
    const { ip, prefixLength } = storeAddress(world);
    const ns = this.namespace;
    this.record.addNamespaces([ns]);
    await must('ip', ['netns', 'add', ns]);
    await batch('ip', this.names.underlay, [
      ['link', 'add', STORE_PORT, 'type', 'veth', 'peer', 'name', STORE_IFACE, 'netns', ns],
      ['link', 'set', 'dev', STORE_PORT, 'master', UNDERLAY_BRIDGE, 'up'],
    ]);
    await batch('ip', ns, [['link', 'set', 'lo', 'up'], ['addr', 'add', safeValue(`${ip}/${prefixLength}`), 'brd', '+', 'dev', STORE_IFACE], ['link', 'set', 'dev', STORE_IFACE, 'up']]);
    const dataDir = path.join(this.record.dir, 'etcd');
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const url = `http://${ip}:${ETCD_CLIENT_PORT}`;
    const child = spawn('ip', ['netns', 'exec', ns, 'etcd', '--name', this.names.prefix, '--data-dir', dataDir,
      '--listen-client-urls', url, '--advertise-client-urls', url, '--listen-peer-urls', 'http://127.0.0.1:2380',
      '--initial-advertise-peer-urls', 'http://127.0.0.1:2380', '--initial-cluster', `${this.names.prefix}=http://127.0.0.1:2380`, '--log-outputs', path.join(dataDir, 'etcd.log')],
    { stdio: 'ignore', detached: true });
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
