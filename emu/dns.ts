/**
 * The embedded DNS server in emu: one dnsmasq per container namespace, listening on
 * 127.0.0.11 there at the UDP port the model gave dockerd's resolver (Docker's DNAT, which
 * the plan installs, sends port 53 there) and answering from a hosts file the model writes — the records of
 * the model's resolver (sim/model/dns.ts), so scoping matches Docker and sim.
 *
 * A name Docker owns is also declared local (a servers file of `server=/NAME/` lines,
 * reread on SIGHUP), so its AAAA question gets an empty answer, as Docker gives it. Every
 * other question Docker forwards to the host's resolvers, which a lab cannot reach, and
 * answers nothing: dnsmasq forwards it to a port of the namespace's own loopback where
 * nothing listens, so the query is lost there, never leaves the namespace, and the asker
 * times out as in Docker. (A subdomain of one of Docker's names, `x.ubuntu1`, is answered
 * NXDOMAIN by dnsmasq where Docker would forward it: the one difference.)
 */
import * as fs from 'fs';
import * as path from 'path';
import { Container, hostOf, World } from '../sim/model/world';
import { dnsRecords } from '../sim/model/dns';
import { EmuEnvironmentError, RunRecord } from './state';
import { isIpv4 } from '../sim/wire/addr';
import { DNS_PORT } from '../sim/wire/dns';
import { must } from './exec';
import { NameMap } from './names';

/**
 * The hosts file of one container: per address, the names the model's resolver gives it
 * (PTR name first, as dnsmasq answers PTR with a line's first name). A name on several of
 * the container's networks appears only with the addresses Docker would answer.
 */
export function hostsFileFor(world: World, c: Container): string {
  return dnsRecords(world, c).map((r) => [ipv4Only(r.ip), ...r.names.map(dnsNameOnly)].join(' ') + '\n').join('');
}

/** The servers file of one container: every name it can resolve, declared local to dnsmasq. */
export function localNamesFileFor(world: World, c: Container): string {
  const names = new Set(dnsRecords(world, c).flatMap((r) => r.names.map(dnsNameOnly)));
  return [...names].map((n) => `server=/${n}/\n`).join('');
}

/** Where dnsmasq sends what Docker would forward: the discard port of the namespace's loopback, where nothing listens. */
const UNREACHABLE_UPSTREAM = '127.0.0.1#9';

/**
 * A hosts file is lines of `address name…`: a name holding a space or a newline would add
 * names or whole records (`db\n6.6.6.6 evil`). The model validates names first; this writer
 * refuses anything that is not a DNS name all the same.
 */
const DNS_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

export function dnsNameOnly(name: string): string {
  if (name.length > 253 || !name.split('.').every((l) => DNS_LABEL.test(l))) throw new EmuEnvironmentError(`refusing to give the embedded DNS the name ${JSON.stringify(name)}: not a DNS name`);
  return name;
}

function ipv4Only(ip: string): string {
  if (!isIpv4(ip)) throw new EmuEnvironmentError(`refusing to give the embedded DNS the address ${JSON.stringify(ip)}: not an IPv4 address`);
  return ip;
}

interface Server {
  pid: number;
  hostsFile: string;
  localNamesFile: string;
  content: string;
  localNames: string;
}

export class EmbeddedDns {
  private readonly servers = new Map<string, Server>();

  constructor(private readonly record: RunRecord, private readonly names: NameMap) {}

  /**
   * Updates (SIGHUP) the servers that run; starts the one of `start` if it has none yet.
   * Servers start only when a command runs in their container: setup stays fast, and a
   * container nobody types into needs no resolver.
   */
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
        if (c.state === 'running' && c.networks.some((n) => n.endpointId) && wanted(c, key)) running.push({ c, key });
      }
    }
    await Promise.all(running.map(async ({ c, key }) => {
      const content = hostsFileFor(world, c);
      const localNames = localNamesFileFor(world, c);
      const s = this.servers.get(key);
      if (s) {
        if (s.content !== content || s.localNames !== localNames) {
          fs.writeFileSync(s.hostsFile, content);
          fs.writeFileSync(s.localNamesFile, localNames);
          s.content = content;
          s.localNames = localNames;
          process.kill(s.pid, 'SIGHUP');
        }
        return;
      }
      await this.start(key, content, localNames, c.resolverPorts?.udp ?? DNS_PORT);
    }));
  }

  /**
   * dnsmasq serves UDP and TCP on one port: the resolver's UDP port. dockerd's TCP socket
   * (another port) has no server in emu, so a DNS query over TCP finds nothing there.
   */
  private async start(netns: string, content: string, localNames: string, port: number): Promise<void> {
    const dir = path.join(this.record.dir, 'dns');
    fs.mkdirSync(dir, { recursive: true });
    const hostsFile = path.join(dir, `${netns}.hosts`);
    const localNamesFile = path.join(dir, `${netns}.servers`);
    const pidFile = path.join(dir, `${netns}.pid`);
    fs.writeFileSync(hostsFile, content);
    fs.writeFileSync(localNamesFile, localNames);
    // Without --keep-in-foreground dnsmasq returns once its socket is bound: ready to answer.
    await must('ip', ['netns', 'exec', netns, 'dnsmasq', '--no-resolv', '--no-hosts', `--addn-hosts=${hostsFile}`, '--listen-address=127.0.0.11',
      '--bind-interfaces', `--port=${port}`, `--servers-file=${localNamesFile}`, `--server=${UNREACHABLE_UPSTREAM}`, '--no-dhcp-interface=lo', `--pid-file=${pidFile}`, '--user=root', '--group=root', '--log-facility=/dev/null', '--cache-size=0']);
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    this.record.addPid(pid);
    this.servers.set(netns, { pid, hostsFile, localNamesFile, content, localNames });
  }

  /** Stops the server of a namespace about to be deleted (a process would keep it alive). */
  stop(netns: string): void {
    const s = this.servers.get(netns);
    if (!s) return;
    try {
      process.kill(s.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    this.record.forgetPid(s.pid);
    this.servers.delete(netns);
  }

  stopAll(): void {
    for (const key of [...this.servers.keys()]) this.stop(key);
  }
}
