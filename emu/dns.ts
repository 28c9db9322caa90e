/**
 * The embedded DNS server in emu: per container sandbox, a responder process of our own
 * (dns-responder.ts) in the sandbox's namespace, holding dockerd's UDP and TCP sockets on
 * 127.0.0.11 at the resolver's ports (Docker's DNAT, which the plan installs, sends port 53
 * there, and its SNAT makes the answers come from :53), and answering with sim's own server
 * (sim/model/resolver.ts) from the view the model gives of the sandbox's networks
 * (sim/model/dns.ts dnsView), kept in a file in the run's state folder. Every rule, flag
 * and byte of an answer is the model's: there is no second copy of them here.
 *
 * One process per sandbox, not one per host: a process's sockets are in the namespace it
 * runs in and Node cannot enter another (no setns), so one per host would still need a
 * process per sandbox to open them. A server starts only when a command runs in its
 * container: setup stays fast, and a container nobody types into needs no resolver.
 */
import { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Container, hostOf, World } from '../sim/model/world';
import { dnsView } from '../sim/model/dns';
import { RESOLVER_IP } from '../sim/model/firewall';
import { EmuEnvironmentError, RunRecord } from './state';
import { startDaemon, stopDaemon } from './daemon';
import { NameMap } from './names';

/** argv[1] of a responder, before the run's prefix: how `cnmlab clean` recognises one of ours (clean.ts). */
export const DNS_MARK = 'cnmlab-dns';

/** The responder's script, next to the CLI bundle (dist/) or built from the repo. */
function responderScript(): string {
  const candidates = [path.join(__dirname, 'dns-responder.js'), path.join(__dirname, '..', 'dist', 'dns-responder.js')];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new EmuEnvironmentError('the embedded DNS responder (dist/dns-responder.js) is missing; run npm run build');
  return found;
}

interface Server {
  child: ChildProcess;
  viewFile: string;
  view: string;
}

export class EmbeddedDns {
  private readonly servers = new Map<string, Server>();

  constructor(private readonly record: RunRecord, private readonly names: NameMap) {}

  /** Brings the views of the servers that run up to date; starts the one of container `start` if it has none yet. */
  sync(world: World, start?: string): Promise<void> {
    return this.syncWhere(world, (c, key) => this.servers.has(key) || c.id === start);
  }

  /** Starts a server in every running container (a kept lab is entered with `ip netns exec`, not through a step). */
  startEvery(world: World): Promise<void> {
    return this.syncWhere(world, () => true);
  }

  private async syncWhere(world: World, wanted: (c: Container, key: string) => boolean): Promise<void> {
    const running: { c: Container; key: string }[] = [];
    for (const h of world.hostOrder) {
      for (const c of Object.values(hostOf(world, h).containers)) {
        const key = this.names.netns(c.host, c.sandbox);
        if (c.state === 'running' && c.networks.some((n) => n.endpointId) && c.resolverPorts && wanted(c, key)) running.push({ c, key });
      }
    }
    await Promise.all(running.map(async ({ c, key }) => {
      const view = JSON.stringify(dnsView(world, c));
      const s = this.servers.get(key);
      if (s) {
        if (s.view !== view) {
          writeAtomically(s.viewFile, view);
          s.view = view;
        }
        return;
      }
      const dir = path.join(this.record.dir, 'dns');
      fs.mkdirSync(dir, { recursive: true });
      const viewFile = path.join(dir, `${key}.json`);
      writeAtomically(viewFile, view);
      const child = await this.start(key, viewFile, c.resolverPorts!);
      this.servers.set(key, { child, viewFile, view });
    }));
  }

  private start(netns: string, viewFile: string, ports: { udp: number; tcp: number }): Promise<ChildProcess> {
    return startDaemon(this.record, netns, {
      argv: [process.execPath, responderScript(), DNS_MARK, this.record.state.prefix, viewFile, RESOLVER_IP, String(ports.udp), String(ports.tcp)],
      failure: (code, stderr) => `the embedded DNS server of ${netns} could not start (exit ${code}): ${stderr}`,
    });
  }

  /** Stops the server of a namespace about to be deleted (its process would keep the namespace alive), and waits for it to go. */
  async stop(netns: string): Promise<void> {
    const s = this.servers.get(netns);
    if (!s) return;
    this.servers.delete(netns);
    const child = s.child;
    await stopDaemon(this.record, child);
    fs.rmSync(s.viewFile, { force: true });
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.servers.keys()].map((netns) => this.stop(netns)));
  }
}

/** A view is replaced whole: a responder reading it mid-write would answer from half a file. */
function writeAtomically(file: string, content: string): void {
  fs.writeFileSync(`${file}.tmp`, content);
  fs.renameSync(`${file}.tmp`, file);
}
