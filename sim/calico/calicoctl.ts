/**
 * `calicoctl` (v3) against the model: `node run`, `node status`, `get ippool`, `patch
 * ippool` and `get workloadendpoints`, printed as calicoctl prints them
 * (calicoctl/commands/node/run.go and status.go, the resource printers: text/tabwriter
 * with padding 3, tablewriter's boxes, YAML in the API's field order). It is the driver's
 * front end: it registers the program, its forms with the code that answers them, with the
 * shell as it loads (the calico bundle, `sim/drivers/calico.ts`, loads it).
 */
import { Model } from '../model/model';
import { Tx } from '../model/tx';
import { NotModelled } from '../model/refusal';
import { CalicoPool, EncapMode, formatTime, hostOf, World } from '../model/world';
import { calicoStore, nodeOnHost, runNode, setPoolModes, workloadEndpoints } from '../model/drivers/calico';
import { isIpv4 } from '../wire/addr';
import { tabwrite } from '../text/tabwriter';
import { byteCompare } from '../text/natural';
import { CommandOutput } from '../backend';
import { failed, ModelStep, modelStep, ok } from '../model/command-step';
import { form } from '../commands/registry';
import { registerHostCommand } from '../runner/host-commands';

/** calicoctl's main prints a command's error on stderr and exits 1 (`failed`). */
export function calicoctlStep(model: Model, host: string, argv: string[]): ModelStep<CommandOutput> {
  return modelStep(model, (tx) => calicoctl(tx, host, argv));
}

function invalid(argv: string[]): CommandOutput {
  return failed(`Invalid option: 'calicoctl ${argv.join(' ')}'. Use flag '--help' to read about a specific subcommand.`);
}

/** docopt's options: `--name=X`, `--name X`, `-o X`, `-oX`; booleans alone. */
function options(args: string[], withValue: string[], booleans: string[]): { values: Map<string, string>; flags: Set<string>; operands: string[] } | undefined {
  const values = new Map<string, string>(), flags = new Set<string>(), operands: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    if (withValue.includes(name)) {
      const v = eq > 0 && a.startsWith('--') ? a.slice(eq + 1) : args[++i];
      if (v === undefined) return undefined;
      values.set(name, v);
    } else if (a.startsWith('-') && a.length > 2 && !a.startsWith('--') && withValue.includes(a.slice(0, 2))) {
      values.set(a.slice(0, 2), a.slice(2));
    } else if (booleans.includes(a)) {
      flags.add(a);
    } else if (a.startsWith('-')) {
      return undefined;
    } else {
      operands.push(a);
    }
  }
  return { values, flags, operands };
}

function calicoctl(tx: Tx, host: string, argv: string[]): CommandOutput {
  const [verb, kind, ...rest] = argv;
  if (verb === 'node' && kind === 'run') return nodeRun(tx, host, argv, rest);
  if (verb === 'node' && kind === 'status') return rest.length ? invalid(argv) : nodeStatus(tx.w as World, host);
  if (verb === 'get' && kind !== undefined && IPPOOL.includes(kind.toLowerCase())) return getIpPool(tx.w as World, argv, rest);
  if (verb === 'get' && kind !== undefined && WEP.includes(kind.toLowerCase())) return getWorkloadEndpoints(tx.w as World, argv, rest);
  if (verb === 'patch' && kind !== undefined && IPPOOL.includes(kind.toLowerCase())) return patchIpPool(tx, argv, rest);
  throw new NotModelled(`calicoctl ${argv.join(' ')}`);
}

const IPPOOL = ['ippool', 'ippools', 'ipp', 'ipps', 'pool', 'pools'];
const WEP = ['workloadendpoint', 'workloadendpoints', 'wep', 'weps'];

/** The image run.go's docopt defaults to. */
const NODE_IMAGE = 'quay.io/calico/node:latest';
/** calicoctl's default etcd endpoint (no /etc/calico/calicoctl.cfg). */
const ETCD_ENDPOINTS = 'http://127.0.0.1:2379';

function nodeRun(tx: Tx, host: string, argv: string[], rest: string[]): CommandOutput {
  const o = options(rest, ['--name', '--ip'], []);
  if (!o || o.operands.length) return invalid(argv);
  const ipArg = o.values.get('--ip');
  if (ipArg !== undefined && ipArg !== 'autodetect' && !isIpv4(ipArg)) return failed(`Error executing command: invalid IP address specified.`);
  // first-found autodetection: the host's one interface with an address.
  const ip = ipArg === undefined || ipArg === 'autodetect' ? hostOf(tx.w as World, host).underlay : ipArg;
  const name = o.values.get('--name') ?? host;
  const envs = [`NODENAME=${name}`, 'CALICO_NETWORKING_BACKEND=bird', ...(ipArg ? [`IP=${ipArg}`] : []), `ETCD_ENDPOINTS=${ETCD_ENDPOINTS}`, 'ETCD_DISCOVERY_SRV='];
  const vols = ['/var/log/calico:/var/log/calico', '/var/run/calico:/var/run/calico', '/var/lib/calico:/var/lib/calico', '/lib/modules:/lib/modules', '/run:/run'];
  const cmd = ['docker', 'run', '--net=host', '--privileged', '--name=calico-node', '-d', '--restart=always', ...envs.flatMap((e) => ['-e', e]), ...vols.flatMap((v) => ['-v', v]), NODE_IMAGE];
  runNode(tx, host, name, ip);
  // calicoctl echoes the container's log until its last line; of calico/node's startup log, only that line is given here.
  return ok([
    'Running command to load modules: modprobe -a xt_set ip6_tables',
    'Enabling IPv4 forwarding',
    'Enabling IPv6 forwarding',
    'Increasing conntrack limit',
    'Removing old calico-node container (if running).',
    'Running the following command to start calico-node:',
    '',
    cmd.join(' '),
    '',
    'Image may take a short time to download if it is not available locally.',
    'Container started, checking progress logs.',
    '',
    'Calico node started successfully',
  ].join('\n') + '\n');
}

/** tablewriter's box: headers upper-cased and centred, cells left-aligned, one space of padding. */
function boxTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+\n';
  const centre = (s: string, w: number) => {
    const gap = w - s.length, left = Math.floor(gap / 2);
    return ' '.repeat(left) + s + ' '.repeat(gap - left);
  };
  const head = '|' + headers.map((h, c) => ` ${centre(h.toUpperCase(), widths[c])} `).join('|') + '|\n';
  const body = rows.map((r) => '|' + r.map((cell, c) => ` ${cell.padEnd(widths[c])} `).join('|') + '|\n').join('');
  return line + head + line + body + line;
}

/** BIRD's `since` column for today: the time of day. */
function clockTime(ns: number): string {
  return formatTime(ns).slice(11, 19);
}

/**
 * `calicoctl node status`: the node-to-node mesh as BIRD's `show protocols` lists it, one
 * session per other node, Established since the later of the two started (sim keeps BGP's
 * timing that simple). BIRD lists its protocols in its configuration's order, which is
 * confd's: `range lsdir "/host"`, the node names as memkv sorts them (sort.Strings).
 */
function nodeStatus(world: World, host: string): CommandOutput {
  const node = nodeOnHost(world.calico, host);
  if (!node) return failed('Calico process is not running.');
  const peers = Object.values(world.calico!.nodes).filter((n) => n.name !== node.name).sort((a, b) => byteCompare(a.name, b.name));
  const v4 = peers.length === 0 ? 'No IPv4 peers found.\n'
    : boxTable(['Peer address', 'Peer type', 'State', 'Since', 'Info'], peers.map((p) => [p.ip, 'node-to-node mesh', 'up', clockTime(Math.max(p.startedNs, node.startedNs)), 'Established']));
  return ok(`Calico process is running.\n\nIPv4 BGP status\n${v4}\nIPv6 BGP status\nNo IPv6 peers found.\n\n`);
}

function outputFormat(o: { values: Map<string, string> }): string {
  return o.values.get('-o') ?? o.values.get('--output') ?? 'ps';
}

function getIpPool(world: World, argv: string[], rest: string[]): CommandOutput {
  const o = options(rest, ['-o', '--output'], []);
  if (!o || o.operands.length > 1) return invalid(argv);
  const format = outputFormat(o);
  const pools = (world.calico?.pools ?? []).filter((p) => o.operands.length === 0 || p.name === o.operands[0]);
  if (o.operands.length === 1 && pools.length === 0) return failed(`Failed to get resources: resource does not exist: IPPool(${o.operands[0]}) with error: <nil>`);
  if (format === 'yaml') {
    const body = pools.map((p) => poolYaml(p, o.operands.length === 1 ? '' : '  ', o.operands.length === 1)).join('');
    return ok(o.operands.length === 1 ? body : `apiVersion: projectcalico.org/v3\nitems:\n${body}kind: IPPoolList\nmetadata:\n  resourceVersion: "${world.calico?.revision ?? 0}"\n`);
  }
  if (format === 'wide') {
    return ok(tabwrite([['NAME', 'CIDR', 'NAT', 'IPIPMODE', 'VXLANMODE', 'DISABLED', 'SELECTOR'],
      ...pools.map((p) => [p.name, p.cidr, String(p.natOutgoing), p.ipipMode, p.vxlanMode, 'false', 'all()'])], 5, 3));
  }
  if (format !== 'ps') throw new NotModelled(`calicoctl ${argv.join(' ')}`);
  return ok(tabwrite([['NAME', 'CIDR', 'SELECTOR'], ...pools.map((p) => [p.name, p.cidr, 'all()'])], 5, 3));
}

/** One pool in YAML, in the API's field order; a list's items start with `- `. */
function poolYaml(p: CalicoPool, indent: string, alone: boolean): string {
  const lines = [
    'apiVersion: projectcalico.org/v3', 'kind: IPPool', 'metadata:', `  creationTimestamp: "${formatTime(p.createdNs).replace(/\.\d+Z$/, 'Z')}"`, `  name: ${p.name}`,
    `  resourceVersion: "${p.resourceVersion}"`, `  uid: ${p.uid}`, 'spec:', `  blockSize: ${p.blockSize}`, `  cidr: ${p.cidr}`, `  ipipMode: ${p.ipipMode}`,
    `  natOutgoing: ${p.natOutgoing}`, '  nodeSelector: all()', `  vxlanMode: ${p.vxlanMode}`,
  ];
  if (alone) return lines.join('\n') + '\n';
  return lines.map((l, i) => (i === 0 ? `- ${l}` : `${indent}${l}`)).join('\n') + '\n';
}

const MODES: EncapMode[] = ['Never', 'Always', 'CrossSubnet'];

/** `calicoctl patch ippool NAME -p JSON`: a merge patch of the pool's ipipMode and vxlanMode. */
function patchIpPool(tx: Tx, argv: string[], rest: string[]): CommandOutput {
  const o = options(rest, ['-p', '--patch'], []);
  const patchText = o?.values.get('-p') ?? o?.values.get('--patch');
  if (!o || o.operands.length !== 1 || patchText === undefined) return invalid(argv);
  const name = o.operands[0];
  let patch: unknown;
  try {
    patch = JSON.parse(patchText);
  } catch {
    return failed(`Failed to patch 1 'IPPool' resource(s): error decoding patch: invalid character in ${JSON.stringify(patchText)}`);
  }
  const spec = (patch as { spec?: Record<string, unknown> } | null)?.spec;
  const keys = spec && typeof spec === 'object' ? Object.keys(spec) : [];
  if (!spec || Object.keys(patch as object).length !== 1 || keys.length === 0 || keys.some((k) => k !== 'ipipMode' && k !== 'vxlanMode')) {
    throw new NotModelled(`calicoctl patch of ${patchText} (only spec.ipipMode and spec.vxlanMode are modelled)`);
  }
  const modes = spec as { ipipMode?: EncapMode; vxlanMode?: EncapMode };
  for (const k of keys) {
    const v = (spec as Record<string, unknown>)[k];
    if (!MODES.includes(v as EncapMode)) return failed(`Failed to patch 1 'IPPool' resource(s): error with field ${k} = '${String(v)}' (unsupported value)`);
  }
  const store = calicoStore(tx);
  const pool = store.pools.find((p) => p.name === name);
  if (!pool) return failed(`Failed to patch 1 'IPPool' resource(s): resource does not exist: IPPool(${name}) with error: <nil>`);
  const ipip = modes.ipipMode ?? pool.ipipMode, vxlan = modes.vxlanMode ?? pool.vxlanMode;
  if (ipip !== 'Never' && vxlan !== 'Never') return failed(`Failed to patch 1 'IPPool' resource(s): error with field IPPool.Spec.VXLANMode = '${vxlan}' (IPIPMode and VXLANMode cannot both be enabled)`);
  if ((ipip !== pool.ipipMode || vxlan !== pool.vxlanMode) && Object.values(store.nodes).some((n) => n.block)) {
    throw new NotModelled('changing a pool\'s encapsulation once blocks are routed (patch the pool before any address is given out)');
  }
  setPoolModes(tx, pool, modes);
  return ok("Successfully patched 1 'IPPool' resource\n");
}

/**
 * `calicoctl get workloadendpoints`: the libnetwork plugin's endpoints, kept in the
 * namespace `libnetwork` (its orchestrator), so the default namespace shows none; `-a`
 * shows every namespace, `-n libnetwork` that one. In etcd's key order, as the datastore
 * lists them: by namespace, then by the endpoint's resource name (node first), bytewise.
 */
function getWorkloadEndpoints(world: World, argv: string[], rest: string[]): CommandOutput {
  const o = options(rest, ['-o', '--output', '-n', '--namespace'], ['-a', '--all-namespaces']);
  if (!o || o.operands.length > 0) return invalid(argv);
  const all = o.flags.has('-a') || o.flags.has('--all-namespaces');
  const ns = o.values.get('-n') ?? o.values.get('--namespace') ?? 'default';
  const format = outputFormat(o);
  if (format !== 'ps' && format !== 'wide') throw new NotModelled(`calicoctl ${argv.join(' ')}`);
  const weps = all || ns === 'libnetwork' ? workloadEndpoints(world).sort((a, b) => byteCompare(wepName(a.node, a.ep.id), wepName(b.node, b.ep.id))) : [];
  const nsCol = all ? ['NAMESPACE'] : [];
  if (format === 'wide') {
    return ok(tabwrite([[...nsCol, 'NAME', 'WORKLOAD', 'NODE', 'NETWORKS', 'INTERFACE', 'PROFILES', 'NATS'],
      ...weps.map((w) => [...(all ? ['libnetwork'] : []), wepName(w.node, w.ep.id), 'libnetwork', w.node, `${w.ep.ip}/32`, w.ep.peerIfname, w.net.name, ''])], 5, 3));
  }
  return ok(tabwrite([[...nsCol, 'WORKLOAD', 'NODE', 'NETWORKS', 'INTERFACE'],
    ...weps.map((w) => [...(all ? ['libnetwork'] : []), 'libnetwork', w.node, `${w.ep.ip}/32`, w.ep.peerIfname])], 5, 3));
}

/** libcalico-go's names.WorkloadEndpointIdentifiers: node, orchestrator, workload, endpoint; dashes in each doubled. */
function wepName(node: string, endpoint: string): string {
  return [node, 'libnetwork', 'libnetwork', endpoint].map((p) => p.replace(/-/g, '--')).join('-');
}

registerHostCommand('calico', {
  program: 'calicoctl', summary: "Calico v3's calicoctl against the model's datastore (calico/node and its libnetwork plugin)",
  forms: [
    form(['node', 'run'], 'calicoctl node run [--name=NAME] [--ip=IP]', [{ flag: '--name', arg: 'NAME', help: 'the node\'s name' }, { flag: '--ip', arg: 'IP', help: 'its IPv4 routing address' }]),
    form(['node', 'status'], 'calicoctl node status'),
    form(['get', 'ippool|ippools|pool|pools'], 'calicoctl get ippool [NAME] [-o yaml|wide]', [{ flag: '-o', arg: 'FORMAT', values: ['yaml', 'wide'], help: 'output format' }], { min: 0, max: 1, names: 'NAME' }),
    form(['patch', 'ippool|ippools|pool|pools'], 'calicoctl patch ippool NAME -p \'{"spec":{"ipipMode"|"vxlanMode":"Never|Always|CrossSubnet"}}\'', [{ flag: '-p', arg: 'PATCH', help: 'a JSON merge patch' }], { min: 1, max: 1, names: 'NAME' }),
    form(['get', 'workloadendpoints|workloadendpoint|wep|weps'], 'calicoctl get workloadendpoints [-a | -n NAMESPACE] [-o wide]', [
      { flag: '-a', help: 'every namespace' }, { flag: '--all-namespaces', help: 'every namespace' }, { flag: '-n', arg: 'NAMESPACE', help: 'the namespace (libnetwork for Docker\'s)' },
      { flag: '-o', arg: 'FORMAT', values: ['wide'], help: 'output format' },
    ]),
  ],
}, { rank: 210 }, async (model, backend, host, argv) => {
  const step = calicoctlStep(model, host, argv.slice(1));
  await backend.apply(step.ops, model.world);
  return step.outcome;
});
