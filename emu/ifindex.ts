/**
 * Interface indexes as the kernel hands them out, so that emu can make a device directly in
 * the namespace it ends up in and still number it as libnetwork's make-then-move does.
 *
 * libnetwork makes a container's veth pair and an overlay's vxlan device in the host
 * namespace and moves them; a device keeps on a move the index its first namespace gave it
 * (`eth0@if15` in a container reads the host's numbering). Each move costs the kernel two
 * RCU grace periods and an rcu_barrier under the RTNL lock (__dev_change_net_namespace):
 * about 17 ms, which nothing can share or overlap. Made in place (`ip link add X netns B
 * index I`) the device costs a fraction of a millisecond, and names its index explicitly.
 *
 * The kernel (6.x, dev_index_reserve) numbers a device made without an index from a cyclic
 * counter per namespace: the first free index at or after the counter, then the counter
 * moves past it; a device made with an explicit index leaves the counter alone; a moved
 * device keeps its index unless the new namespace has it in use, and then takes the next
 * from that namespace's counter. Here each namespace keeps two counters: the one Docker's
 * sequence would have left (`hint`), and the one this namespace's kernel really has
 * (`kernelHint`), behind when devices that were numbered here were made elsewhere. A
 * device made while they agree is left to the kernel to number; otherwise it is numbered
 * explicitly. A step's program makes no device but `ip link add` (a dummy), made once the
 * counters are level and then counted (madeByStep); a kept lab's user may make any, so
 * catchUp brings the kernel's counters level before it is handed over.
 */

interface Device {
  netns: string;
  name: string;
  index: number;
  /** Who made it: the kernel with its namespace (lo), the plan, or a step's `ip link add`. */
  madeBy: 'kernel' | 'plan' | 'step';
  /** The other end of a veth: deleting either deletes both. */
  peer?: Device;
}

interface Space {
  devices: Map<string, Device>;
  used: Set<number>;
  hint: number;
  kernelHint: number;
}

/** Where and how to make one device: `netns` when it is made in another namespace than the command's, `index` when the kernel must be told. */
export interface Placement {
  netns?: string;
  index?: number;
}

/** A group number no Docker device carries: the placeholders catchUp makes, deleted all at once. */
export const PLACEHOLDER_GROUP = 4242;

export class Numbering {
  private readonly spaces = new Map<string, Space>();
  private placeholders = 0;

  /** A new namespace: the kernel gives its loopback index 1. */
  addNamespace(netns: string): void {
    const lo: Device = { netns, name: 'lo', index: 1, madeBy: 'kernel' };
    this.spaces.set(netns, { devices: new Map([['lo', lo]]), used: new Set([1]), hint: 2, kernelHint: 2 });
  }

  /** A deleted namespace takes its devices with it, and the far ends of its veths. */
  deleteNamespace(netns: string): void {
    const space = this.spaces.get(netns);
    if (!space) return;
    for (const d of space.devices.values()) if (d.peer && d.peer.netns !== netns) this.forget(d.peer);
    this.spaces.delete(netns);
  }

  /**
   * A device made by a command run in `netns` (or, for a veth's peer, in `peerNetns`), landing
   * in `lands` (its own namespace, or where a later move would take it): numbered from the
   * namespace it is made in, as the kernel would there.
   */
  make(netns: string, name: string, lands: string = netns): { placement: Placement; device: Device } {
    const from = this.space(netns);
    const index = this.lowestFree(from, from.hint);
    from.hint = index + 1;
    if (lands === netns) {
      const kernelPick = this.lowestFree(from, from.kernelHint);
      const device: Device = { netns, name, index, madeBy: 'plan' };
      this.place(from, device);
      if (kernelPick !== index) return { placement: { index }, device };
      from.kernelHint = index + 1;
      return { placement: {}, device };
    }
    const device = this.land(lands, name, index);
    return { placement: { netns: lands, index: device.index }, device };
  }

  /** The two ends of a veth: deleting either deletes both. */
  pair(a: Device, b: Device): void {
    a.peer = b;
    b.peer = a;
  }

  private device(netns: string, name: string): Device | undefined {
    return this.spaces.get(netns)?.devices.get(name);
  }

  /** A device moved by `ip link set … netns`: it keeps its index unless the namespace has it, then the kernel takes the next from its counter. */
  move(netns: string, name: string, to: string): void {
    const d = this.device(netns, name);
    if (!d) return;
    this.forget(d);
    const target = this.space(to);
    let index = d.index;
    if (target.used.has(index)) {
      index = this.lowestFree(target, target.kernelHint);
      target.kernelHint = index + 1;
      target.hint = Math.max(target.hint, index + 1);
    }
    d.netns = to;
    d.index = index;
    this.place(target, d);
  }

  rename(netns: string, name: string, to: string): void {
    const space = this.spaces.get(netns);
    const d = space?.devices.get(name);
    if (!space || !d) return;
    space.devices.delete(name);
    d.name = to;
    space.devices.set(to, d);
  }

  /** A deleted device (a veth takes its peer along). */
  delete(netns: string, name: string): void {
    const d = this.device(netns, name);
    if (!d) return;
    this.forget(d);
    if (d.peer) this.forget(d.peer);
  }

  /**
   * A device a step's command made in `netns` (`ip link add`), numbered by the kernel once
   * the counters were level (catchUp): the next index of both. Named as typed, or, with no
   * name, as the kernel names a dummy (dummy%d, the lowest number free).
   */
  madeByStep(netns: string, name: string | undefined): void {
    const space = this.space(netns);
    let typed = name;
    for (let n = 0; typed === undefined; n++) if (!space.devices.has(`dummy${n}`)) typed = `dummy${n}`;
    const index = this.lowestFree(space, space.kernelHint);
    space.kernelHint = space.hint = index + 1;
    this.place(space, { netns, name: typed, index, madeBy: 'step' });
  }

  /** Whether `netns` holds a device named `name` (whoever made it). */
  holds(netns: string, name: string): boolean {
    return this.device(netns, name) !== undefined;
  }

  /** Whether `netns` holds a device named `name` that the plan made (not lo, not one a step's `ip link add` made). */
  madeByPlan(netns: string, name: string): boolean {
    return this.device(netns, name)?.madeBy === 'plan';
  }

  /** An index the kernel handed out in `netns` and took back at once (a device made and deleted outside the plan). */
  spend(netns: string): void {
    const space = this.space(netns);
    const index = this.lowestFree(space, space.kernelHint);
    space.kernelHint = index + 1;
    space.hint = Math.max(space.hint, index + 1);
  }

  /** Whether a device made in `netns` without an index would now be numbered otherwise than in Docker's sequence. */
  behind(netns: string): boolean {
    const space = this.spaces.get(netns);
    return !!space && this.lowestFree(space, space.kernelHint) !== this.lowestFree(space, space.hint);
  }

  /**
   * The `ip` commands that bring the kernel's counter in `netns` level with Docker's: a
   * placeholder bridge for each index the counter must pass, made without an index (so the
   * kernel numbers each and moves its counter on), then all deleted in one request (one
   * grace period for the lot). Empty when the counters agree.
   */
  catchUp(netns: string): string[][] {
    const space = this.spaces.get(netns);
    if (!space || !this.behind(netns)) return [];
    const lines: string[][] = [];
    let at = space.kernelHint;
    for (; at < space.hint; at++) {
      if (space.used.has(at)) continue;
      lines.push(['link', 'add', 'name', `cnmpad${this.placeholders++}`, 'group', String(PLACEHOLDER_GROUP), 'type', 'bridge']);
    }
    space.kernelHint = at;
    lines.push(['link', 'del', 'group', String(PLACEHOLDER_GROUP)]);
    return lines;
  }

  private land(netns: string, name: string, index: number): Device {
    const target = this.space(netns);
    let at = index;
    // Moved into a namespace that has the index in use, the device takes the next from that namespace's counter.
    if (target.used.has(at)) {
      at = this.lowestFree(target, target.hint);
      target.hint = at + 1;
    }
    const d: Device = { netns, name, index: at, madeBy: 'plan' };
    this.place(target, d);
    return d;
  }

  private place(space: Space, d: Device): void {
    space.devices.set(d.name, d);
    space.used.add(d.index);
  }

  private forget(d: Device): void {
    const space = this.spaces.get(d.netns);
    if (!space || space.devices.get(d.name) !== d) return;
    space.devices.delete(d.name);
    space.used.delete(d.index);
  }

  private space(netns: string): Space {
    let space = this.spaces.get(netns);
    if (!space) {
      this.addNamespace(netns);
      space = this.spaces.get(netns)!;
    }
    return space;
  }

  private lowestFree(space: Space, from: number): number {
    let at = from;
    while (space.used.has(at)) at++;
    return at;
  }
}
