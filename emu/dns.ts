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
 * process per sandbox to open them. A server's sockets are bound only when a command runs
 * in its container, and its process starts on the first query (socket activation by the
 * namespace worker, nsworker.ts): setup stays fast, and a container nobody types into, or
 * whose commands resolve nothing, needs no resolver process. A kept lab's start at once.
 */
import { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Container, hostOf, World } from '../sim/model/world';
import { dnsView } from '../sim/model/dns';
import { RESOLVER_TCP_BACKLOG } from '../sim/model/resolver';
import { RESOLVER_IP } from '../sim/model/firewall';
import { EmuEnvironmentError, RunRecord } from './state';
import { startDaemon, stopDaemon } from './daemon';
import { NameMap } from './names';
import { ActivatedProgram, startActivated } from './nsworker';

/** argv[1] of a responder, before the run's prefix: how a run's teardown tells a recorded pid is still its responder (clean.ts); an orphan is found by the run's mark in its environment. */
export const DNS_MARK = 'cnmlab-dns';

/** The responder's script, next to the CLI bundle (dist/) or built from the repo. */
function responderScript(): string {
  const candidates = [path.join(__dirname, 'dns-responder.js'), path.join(__dirname, '..', 'dist', 'dns-responder.js')];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new EmuEnvironmentError('the embedded DNS responder (dist/dns-responder.js) is missing; run npm run build');
  return found;
}

/** A responder, started (a kept lab's) or waiting for its first query (a run's own). */
type Responder = { kind: 'started'; child: ChildProcess } | { kind: 'activated'; program: ActivatedProgram };

interface Server {
  responder: Responder;
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
      const responder = await this.start(key, viewFile, c.resolverPorts!);
      this.servers.set(key, { responder, viewFile, view });
    }));
  }

  /**
   * A run's responder waits for the first query on sockets the namespace worker holds, so a
   * container whose commands resolve nothing (a ping of an address) costs no Node process; a
   * kept lab outlives the worker, so its responders start at once.
   */
  private async start(netns: string, viewFile: string, ports: { udp: number; tcp: number }): Promise<Responder> {
    const argv = [process.execPath, responderScript(), DNS_MARK, this.record.state.prefix, viewFile, RESOLVER_IP, String(ports.udp), String(ports.tcp)];
    const failure = (code: number | null, stderr: string) => `the embedded DNS server of ${netns} could not start (exit ${code}): ${stderr}`;
    if (this.record.state.keep) return { kind: 'started', child: await startDaemon(this.record, netns, { argv, failure }) };
    const program = await startActivated({
      netns,
      program: this.record.marked([...argv, 'inherited']),
      sockets: [{ proto: 'udp', address: RESOLVER_IP, port: ports.udp }, { proto: 'tcp', address: RESOLVER_IP, port: ports.tcp, backlog: RESOLVER_TCP_BACKLOG }],
      // Started on a query in the middle of a step: what it says when it cannot serve is shown, not lost.
    }, (pid) => {
      try {
        this.record.addPid(pid);
      } catch {
        // Unrecorded (a state folder that refuses writes), it could outlive the run: it goes now, and the name goes unanswered.
        process.kill(pid, 'SIGKILL');
      }
    }, (text) => process.stderr.write(`cnmlab: the embedded DNS server of ${netns}: ${text}`)).catch((e: Error) => {
      throw new EmuEnvironmentError(failure(126, e.message));
    });
    return { kind: 'activated', program };
  }

  /** Stops the server of a namespace about to be deleted (its process would keep the namespace alive), and waits for it to go. */
  async stop(netns: string): Promise<void> {
    const s = this.servers.get(netns);
    if (!s) return;
    this.servers.delete(netns);
    if (s.responder.kind === 'started') await stopDaemon(this.record, s.responder.child);
    else {
      const pid = s.responder.program.pid();
      await s.responder.program.stop();
      if (pid !== undefined) this.record.forgetPid(pid);
    }
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
