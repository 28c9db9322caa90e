/**
 * The connected routes the plan's addresses make in each namespace (fib_add_ifaddr: an
 * address's prefix on its device, but for a /32 and lo's), kept from the plan's ops so that
 * emu knows, without asking the kernel, which `ip route del` would take one away: sim's ip
 * refuses that as not modelled (the model derives the route from the address). A device
 * a step set down has no such route in sim; emu does not follow a step's own changes.
 */
import type { PlanOp } from '../sim/plan/ops';
import { Cidr, ipv4ToNumber, networkAddress, parseCidr } from '../sim/wire/addr';

export class ConnectedRoutes {
  /** By real namespace, each device's addresses. */
  private readonly byNetns = new Map<string, Map<string, Cidr[]>>();

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
        case 'addr.del': {
          const devs = this.byNetns.get(netns(op.host, op.netns));
          const c = parseCidr(op.address);
          const kept = devs?.get(op.dev)?.filter((a) => !c || a.base !== c.base || a.prefixLength !== c.prefixLength);
          if (devs && kept) devs.set(op.dev, kept);
          break;
        }
        // A device deleted, or moved to another namespace (which flushes its addresses), takes its routes along.
        case 'link.del':
        case 'link.move':
          this.byNetns.get(netns(op.host, op.netns))?.delete(op.name);
          break;
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

  private add(netns: string, dev: string, address: string): void {
    const c = parseCidr(address);
    if (!c) return;
    let devs = this.byNetns.get(netns);
    if (!devs) this.byNetns.set(netns, (devs = new Map()));
    devs.set(dev, [...(devs.get(dev) ?? []), c]);
  }
}
