/** The sim backend: plan ops into the simulated kernel; commands answered from it. */
import { Backend, CommandOutput, ExecContext } from '../backend';
import { PlanOp } from '../plan/ops';
import { endpointOf, hostOf, swarmNetwork, World } from '../model/world';
import { Flow, Topology } from '../trace/types';
import { topologyFromWorld } from '../trace/topology';
import { SimKernel } from './kernel';
import { bridgeCommand, ipCommand } from './iproute';
import { SimNetns } from './objects';
import { Datapath } from './datapath';
import { containerCommand } from './programs';

export class SimBackend implements Backend {
  readonly mode = 'sim' as const;
  readonly kernel: SimKernel;
  readonly datapath: Datapath;

  constructor(seed: number) {
    this.kernel = new SimKernel(seed);
    this.datapath = new Datapath(this.kernel);
  }

  async apply(ops: PlanOp[]): Promise<void> {
    for (const op of ops) this.kernel.apply(op);
  }

  /** The sim applies every op at once; nothing waits. */
  async settle(): Promise<void> {}

  async exec(host: string, netns: string, argv: string[], ctx: ExecContext): Promise<CommandOutput> {
    return this.execSync(host, netns, argv, ctx);
  }

  execSync(host: string, netns: string, argv: string[], ctx: ExecContext): CommandOutput {
    const ns: SimNetns = this.kernel.netns(host, netns);
    const opts = { namesVisible: ctx.namesVisible };
    const [cmd, ...args] = argv;
    switch (cmd) {
      case 'ip':
        return ipCommand(ns, args, opts);
      case 'bridge':
        return bridgeCommand(ns, args, opts);
      case 'cat': {
        const missing = args.filter((f) => !ns.files.has(f) && !(ctx.container && f === '/etc/hosts'));
        if (missing.length) return { stdout: '', stderr: missing.map((f) => `cat: ${f}: No such file or directory\n`).join(''), exitCode: 1 };
        return { stdout: args.map((f) => ns.files.get(f) ?? hostsFile(ctx)).join(''), stderr: '', exitCode: 0 };
      }
      default:
        return containerCommand(this.datapath, ns, argv, ctx);
    }
  }

  flows(): Flow[] {
    return this.datapath.flows;
  }

  elapsedNs(): number {
    return this.datapath.clock.now;
  }

  topology(world: World): Topology {
    return topologyFromWorld(world);
  }

  async close(): Promise<void> {}
}

/** /etc/hosts of a container: localhost lines and its own addresses under its short id. */
function hostsFile(ctx: ExecContext): string {
  const c = ctx.world.hostOrder.map((h) => hostOf(ctx.world, h).containers[ctx.container!]).find(Boolean);
  const own = c ? c.networks.map((n) => {
    const net = swarmNetwork(ctx.world.swarm, n.networkId) ?? hostOf(ctx.world, c.host).localNetworks[n.networkId];
    return n.endpointId ? (net ? endpointOf(net, n.endpointId) : undefined)?.ip : undefined;
  }).filter(Boolean).map((ip) => `${ip}\t${c.hostname}\n`).join('') : '';
  return `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n${own}`;
}
