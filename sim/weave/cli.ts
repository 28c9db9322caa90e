/**
 * The `weave` script (Weave Net 2.8.1) against the model: `launch`, `status` (and its
 * `peers`, `ipam` and `targets` reports), `ps`, `expose` and `env`, printed as the script
 * and the router's HTTP templates print them (the `weave` script, prog/weaver/http.go). It is
 * the driver's front end: it registers the program, its forms with the code that answers
 * them, with the shell as it loads (the weave bundle, `sim/drivers/weave.ts`, loads it).
 */
import { Model } from '../model/model';
import { Tx } from '../model/tx';
import { NotModelled } from '../model/refusal';
import { EPOCH_NS, hostOf, WeavePeer, World } from '../model/world';
import { connectedPeers, IPALLOC_RANGE, weaveEndpoints, weaveExpose, weaveLaunch, WeaveError } from '../model/drivers/weave';
import { CommandOutput } from '../backend';
import { failed, ModelStep, modelStep, ok } from '../model/command-step';
import { form } from '../commands/registry';
import { registerHostCommand } from '../runner/host-commands';

const VERSION = '2.8.1';
/** go-checkpoint's interval between version checks (prog/weaver/checkpoint.go); it staggers it randomly, the model does not. */
const CHECK_PERIOD_NS = 6 * 3600e9;
const RANGE_SIZE = 2 ** 20;

export function weaveStep(model: Model, host: string, argv: string[]): ModelStep<CommandOutput> {
  return modelStep(model, (tx) => weave(tx, host, argv), (e) => (e instanceof WeaveError ? failed(e.message, e.exitCode) : undefined));
}

function weave(tx: Tx, host: string, argv: string[]): CommandOutput {
  const [command, ...rest] = argv;
  const w = tx.before;
  const me = w.weave?.peers[host];
  switch (command) {
    case 'launch':
      return ok(weaveLaunch(tx, host, rest));
    case 'status':
      if (!me) throw notRunning();
      return status(w, me, rest);
    case 'ps':
      if (!me) throw notRunning();
      return ok(ps(w, me));
    case 'expose':
      if (rest.length) throw new NotModelled(`weave expose ${rest.join(' ')}`);
      if (!me) throw notRunning();
      return ok(`${weaveExpose(tx, host)}\n`);
    case 'env':
      if (!me) throw notRunning();
      // The proxy's address; DOCKER_HOST was unset, so the script offers to restore it to nothing.
      return ok('export DOCKER_HOST=unix:///var/run/weave/weave.sock ORIG_DOCKER_HOST=\n');
    default:
      throw new NotModelled(`weave ${argv.join(' ')}`);
  }
}

/** What curl prints when nothing listens on the router's HTTP port, as the script relays it. */
function notRunning(): WeaveError {
  return new WeaveError('weave container is not present. Have you launched it?', 1);
}

function nameNick(p: WeavePeer): string {
  return `${p.name}(${p.nickname})`;
}

/** The mesh's connections of a peer: each with the other end, its direction, and the address seen. */
function connectionsOf(w: World, p: WeavePeer): { other: WeavePeer; outbound: boolean; address: string }[] {
  return connectedPeers(w.weave, p).map((other) => {
    const c = (w.weave?.connections ?? []).find((k) => (k.from === p.host && k.to === other.host) || (k.to === p.host && k.from === other.host));
    const outbound = c?.from === p.host;
    return { other, outbound, address: outbound ? `${other.address}:6783` : `${other.address}:${c?.sourcePort ?? 0}` };
  });
}

function status(w: World, me: WeavePeer, args: string[]): CommandOutput {
  const peers = [me, ...connectedPeers(w.weave, me)];
  if (args.length === 0) return ok(`\n${mainStatus(w, me, peers)}\n`);
  if (args.length === 1 && args[0] === 'peers') {
    return ok(peers.map((p) => `${nameNick(p)}\n${connectionsOf(w, p).map((c) => `   ${c.outbound ? '->' : '<-'} ${c.address.padEnd(21)} ${nameNick(c.other).padEnd(37)} established\n`).join('')}`).join(''));
  }
  if (args.length === 1 && args[0] === 'ipam') return ok(ipamRanges(w, me));
  if (args.length === 1 && args[0] === 'targets') return ok(me.targets.map((t) => `${t}\n`).join(''));
  if (args.length === 1 && ['connections', 'dns'].includes(args[0])) throw new NotModelled(`weave status ${args[0]}`);
  return failed(`Invalid 'weave status' sub-command: ${args.join(' ')}`);
}

function mainStatus(w: World, me: WeavePeer, peers: WeavePeer[]): string {
  const conns = connectionsOf(w, me).length;
  const peerConns = peers.reduce((n, p) => n + connectionsOf(w, p).length, 0);
  // The ring is claimed in the step that first asks for an address (the consensus is not timed): idle until then.
  const ipamStatus = w.weave?.ringClaimed ? 'ready' : 'idle';
  const nextCheck = new Date(Number((EPOCH_NS + BigInt(me.launchedNs + CHECK_PERIOD_NS)) / 1_000_000n));
  return [
    `        Version: ${VERSION} (failed to check latest version - see logs; next check at ${goTime(nextCheck)})`,
    '',
    '        Service: router',
    '       Protocol: weave 1..2',
    `           Name: ${nameNick(me)}`,
    '     Encryption: disabled',
    '  PeerDiscovery: enabled',
    `        Targets: ${me.targets.length}`,
    `    Connections: ${conns}${conns ? ` (${conns} established)` : ''}`,
    `          Peers: ${peers.length}${peerConns ? ` (with ${peerConns} established connections)` : ''}`,
    ' TrustedSubnets: none',
    '',
    '        Service: ipam',
    `         Status: ${ipamStatus}`,
    `          Range: ${IPALLOC_RANGE}`,
    `  DefaultSubnet: ${IPALLOC_RANGE}`,
    '',
    '        Service: dns',
    '         Domain: weave.local.',
    // The lab's hosts name no nameserver in /etc/resolv.conf.
    '       Upstream: none',
    '            TTL: 1',
    '        Entries: 0',
    '',
    '        Service: proxy',
    '        Address: unix:///var/run/weave/weave.sock',
    '',
    '        Service: plugin (legacy)',
    '     DriverName: weave',
  ].join('\n') + '\n';
}

/** printIPAMRanges: each owner's share of the ring, the local peer first ("%-37v %8d IPs (%04.1f%% of total) %s"). */
function ipamRanges(w: World, me: WeavePeer): string {
  const owners = [me, ...connectedPeers(w.weave, me)].filter((p) => p.ranges.length > 0);
  return owners.map((p) => {
    const ips = p.ranges.reduce((n, [s, e]) => n + e - s, 0);
    const info = p === me ? `(${Object.keys(p.allocated).length} active)` : '';
    return `${nameNick(p).padEnd(37)} ${String(ips).padStart(8)} IPs (${percent((ips * 100) / RANGE_SIZE)}% of total) ${info}\n`;
  }).join('');
}

/** Go's %04.1f. */
function percent(v: number): string {
  return v.toFixed(1).padStart(4, '0');
}

/** Go's 2006/01/02 15:04:05, in UTC (the router container's zone). */
function goTime(d: Date): string {
  const iso = d.toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '/')} ${iso.slice(11, 19)}`;
}

/**
 * `weave ps`: weave:expose (the bridge's MAC and addresses) and every running container on
 * this host with an interface on the weave bridge, newest first, as the script's
 * echo_addresses prints them: the id's first 12 characters, the MAC, the CIDRs.
 */
function ps(w: World, me: WeavePeer): string {
  const h = hostOf(w, me.host);
  const expose = me.exposed ? ` ${me.exposed}/12` : '';
  const lines = [`weave:expose ${me.name}${expose}`];
  const containers = Object.values(h.containers).filter((c) => c.state === 'running').reverse();
  const eps = weaveEndpoints(w);
  for (const c of containers) {
    const ep = eps.find((e) => e.ep.containerId === c.id);
    if (ep) lines.push(`${c.id.slice(0, 12)} ${ep.ep.mac} ${ep.ep.ip}/${ep.ep.prefixLength}`);
  }
  return lines.map((l) => `${l}\n`).join('');
}

registerHostCommand('weave', {
  program: 'weave',
  summary: "Weave Net 2.8.1's weave script against the model: the router (sleeve datapath), its Docker plugin's network weave, its IPAM ring and status reports",
  forms: [
    form(['launch'], 'weave launch --no-fastdp [PEER…]', [{ flag: '--no-fastdp', help: 'the sleeve datapath (user-space, UDP 6783) instead of the fast datapath' }], { min: 0, max: Infinity, names: 'PEER…' }),
    form(['status'], 'weave status [peers|ipam|targets]', [], { min: 0, max: 1, names: 'REPORT', allowed: [['peers', 'ipam', 'targets']] }),
    form(['ps'], 'weave ps'),
    form(['expose'], 'weave expose'),
    form(['env'], 'weave env'),
  ],
}, { rank: 220 }, async (model, backend, host, argv) => {
  const step = weaveStep(model, host, argv.slice(1));
  // weave launch's temporary dummy (vethwedu) needs what a kernel may lack: the run stops there.
  const unavailable = await backend.missingFeature?.(step.ops);
  if (unavailable) return { ...step.outcome, unavailable };
  await backend.apply(step.ops, model.world);
  return step.outcome;
});
