/** emu's numbering of devices it makes where libnetwork would move them (emu/ifindex.ts), against the kernel's rules; the real kernel's verdict is test/emu-same-objects.test.ts. */
import { Numbering, PLACEHOLDER_GROUP } from '../emu/ifindex';

function host(): Numbering {
  const n = new Numbering();
  for (const ns of ['h', 'ovl', 'ctr']) n.addNamespace(ns);
  expect(n.make('h', 'eth0').placement).toEqual({});
  return n;
}

describe('device numbering in emu', () => {
  test("a device made for another namespace takes the index the host's counter gives it; the host's kernel counter stays behind, so the host's next device is numbered explicitly", () => {
    const n = host();
    // A veth pair whose ends libnetwork moves: the peer is numbered first.
    const peer = n.make('h', 'vethb', 'ctr');
    const self = n.make('h', 'vetha', 'ovl');
    n.pair(self.device, peer.device);
    expect([peer.placement, self.placement]).toEqual([{ netns: 'ctr', index: 3 }, { netns: 'ovl', index: 4 }]);
    expect(n.behind('h')).toBe(true);
    expect(n.make('h', 'docker_gwbridge').placement).toEqual({ index: 5 });
    // A namespace whose counter nobody passed numbers its own devices itself.
    expect(n.make('ovl', 'br0').placement).toEqual({});
  });

  test('a device landing on an index its namespace already uses takes the next from that namespace\'s counter, as a move does', () => {
    const n = host();
    n.make('ctr', 'eth1');
    n.make('ctr', 'eth2');
    expect(n.make('h', 'veth0', 'ctr').placement).toEqual({ netns: 'ctr', index: 4 });
  });

  test("catchUp: a placeholder for each free index the kernel's counter must pass, then one deletion of them all; level afterwards", () => {
    const n = host();
    n.make('h', 'vethb', 'ctr');
    n.make('h', 'vetha', 'ovl');
    n.make('h', 'docker_gwbridge');
    n.make('h', 'vethc', 'ctr');
    const lines = n.catchUp('h');
    expect(lines.map((l) => l.join(' '))).toEqual([
      `link add name cnmpad0 group ${PLACEHOLDER_GROUP} type bridge`,
      `link add name cnmpad1 group ${PLACEHOLDER_GROUP} type bridge`,
      `link add name cnmpad2 group ${PLACEHOLDER_GROUP} type bridge`,
      `link del group ${PLACEHOLDER_GROUP}`,
    ]);
    expect(n.behind('h')).toBe(false);
    expect(n.catchUp('h')).toEqual([]);
    expect(n.make('h', 'next').placement).toEqual({});
  });

  test("a dummy a step's `ip link add` made, once the counters are level: the next index of both, so the plan's next device is the kernel's own pick; with no name, dummy%d's lowest free", () => {
    const n = host();
    n.make('h', 'vethb', 'ctr');
    n.catchUp('h');
    n.madeByStep('h', 'd0');
    expect(n.behind('h')).toBe(false);
    expect(n.make('h', 'docker_gwbridge').placement).toEqual({});
    n.madeByStep('h', undefined);
    n.madeByStep('h', undefined);
    n.delete('h', 'dummy0');
    n.madeByStep('h', undefined);
    // lo 1, eth0 2, vethb 3 (moved to ctr), d0 4, docker_gwbridge 5, dummy0 6 (deleted), dummy1 7, dummy0 again 8.
    expect(n.make('h', 'x').device.index).toBe(9);
  });

  test("deleting a veth end frees its peer's index where the peer lives; deleting a namespace frees its veths' far ends", () => {
    const n = host();
    /** A device numbered 3 by a fresh host's counter, landing in ctr: it keeps 3 only if ctr has 3 free. */
    const landOnThree = (h: string) => {
      n.addNamespace(h);
      n.make(h, 'first');
      return n.make(h, 'second', 'ctr');
    };
    const peer = n.make('h', 'ctrend', 'ctr');
    n.pair(n.make('h', 'ovlend', 'ovl').device, peer.device);
    expect(peer.placement.index).toBe(3);
    n.delete('ovl', 'ovlend');
    const again = landOnThree('h2');
    expect(again.placement.index).toBe(3);
    n.addNamespace('x');
    n.pair(n.make('x', 'xend').device, again.device);
    n.deleteNamespace('x');
    expect(landOnThree('h3').placement.index).toBe(3);
  });
});
