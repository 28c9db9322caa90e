/**
 * The routes the plan makes in each namespace, kept from its ops so that emu knows them
 * without asking the kernel: the connected routes of its addresses (fib_add_ifaddr: an
 * address's prefix on its device, but for a /32 and lo's), which `ip route del` would take
 * away (sim's ip refuses that as not modelled: the model derives the route from the
 * address), and with its routes the device a destination is routed through (sim's ping
 * refuses -I through another). A device a step set down, and a route a step added or
 * deleted, change sim's routes; emu does not follow a step's own changes.
 */
import type { PlanOp } from '../sim/plan/ops';
import { Cidr, contains, ipv4ToNumber, networkAddress, parseCidr } from '../sim/wire/addr';

export class PlanRoutes {
  /** By real namespace, each device's addresses. */
  private readonly byNetns = new Map<string, Map<string, Cidr[]>>();
  /** By real namespace, the routes the plan added (a blackhole's on lo, as the kernel's lookup gives it). */
  private readonly routes = new Map<string, { prefix: Cidr; dev: string }[]>();

  /** Takes in a step's ops; `netns` names a namespace as the run's kernel has it. */
  observe(ops: readonly PlanOp[], netns: (host: string, ns: string) => string): void {
    for (const op of ops) {
      switch (op.op) {
        case 'host.add':
          this.add(netns(op.host, op.host), op.iface, op.address);
          break;
        case 'addr.add':
          this.add(netns(op.host, op.netns), op.dev, op.address);
          break;
        case 'route.add':
        case 'route.blackhole': {
          const prefix = op.dst === 'default' ? { base: 0, prefixLength: 0 } : parseCidr(op.dst);
          const at = netns(op.host, op.netns);
          if (prefix) this.routes.set(at, [...(this.routes.get(at) ?? []), { prefix, dev: op.op === 'route.add' ? op.dev : 'lo' }]);
          break;
        }
        case 'addr.del': {
          const devs = this.byNetns.get(netns(op.host, op.netns));
          const c = parseCidr(op.address);
          const kept = devs?.get(op.dev)?.filter((a) => !c || a.base !== c.base || a.prefixLength !== c.prefixLength);
          if (devs && kept) devs.set(op.dev, kept);
          break;
        }
        // A device deleted, or moved to another namespace (which flushes its addresses), takes its routes along.
        case 'link.del':
        case 'link.move': {
          const at = netns(op.host, op.netns);
          this.byNetns.get(at)?.delete(op.name);
          this.routes.set(at, (this.routes.get(at) ?? []).filter((r) => r.dev !== op.name));
          break;
        }
        case 'link.rename': {
          const devs = this.byNetns.get(netns(op.host, op.netns));
          const addrs = devs?.get(op.name);
          if (devs && addrs) {
            devs.delete(op.name);
            devs.set(op.to, addrs);
          }
          break;
        }
        case 'netns.del':
          this.byNetns.delete(netns(op.host, op.netns));
          this.routes.delete(netns(op.host, op.netns));
          break;
        default:
          break;
      }
    }
  }

  /** Whether namespace `netns` holds a connected route of `dst`/`prefixLength` (on `dev`, when named). */
  holds(netns: string, { dst, prefixLength, dev }: { dst: string; prefixLength: number; dev?: string }): boolean {
    const devs = this.byNetns.get(netns);
    if (!devs || prefixLength >= 32) return false;
    const base = ipv4ToNumber(dst);
    return [...devs].some(([name, addrs]) => name !== 'lo' && (dev === undefined || dev === name)
      && addrs.some((a) => a.prefixLength === prefixLength && networkAddress(a) === base));
  }

  /**
   * The device the namespace's route to `dst` takes: lo for 127.0.0.0/8 and its own addresses
   * (the local table), else the longest of its connected prefixes and the plan's routes; undefined without one.
   */
  routeDevice(netns: string, dst: string): string | undefined {
    const d = ipv4ToNumber(dst);
    const devs = [...(this.byNetns.get(netns) ?? [])];
    if (dst.startsWith('127.') || devs.some(([, addrs]) => addrs.some((a) => a.base === d))) return 'lo';
    let best: { dev: string; length: number } | undefined;
    const consider = (prefix: Cidr, dev: string) => {
      if (contains(prefix, d) && prefix.prefixLength > (best?.length ?? -1)) best = { dev, length: prefix.prefixLength };
    };
    for (const [dev, addrs] of devs) for (const a of addrs) if (dev !== 'lo' && a.prefixLength < 32) consider(a, dev);
    for (const r of this.routes.get(netns) ?? []) consider(r.prefix, r.dev);
    return best?.dev;
  }

  private add(netns: string, dev: string, address: string): void {
    const c = parseCidr(address);
    if (!c) return;
    let devs = this.byNetns.get(netns);
    if (!devs) this.byNetns.set(netns, (devs = new Map()));
    devs.set(dev, [...(devs.get(dev) ?? []), c]);
  }
}
