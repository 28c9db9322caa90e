/**
 * A device's one rx_handler slot (netdev_rx_handler_register / _unregister, sim/kernel/net/dev.ts),
 * which Open vSwitch's vports, weave sleeve's capture and the stacked devices' ports all take
 * through: a second handler is refused with EBUSY, and a module unregisters only its own.
 */
import { netdevRxHandlerRegister, netdevRxHandlerUnregister } from '../sim/kernel/net/dev';
import { SimKernel } from '../sim/kernel/kernel';
import { KernelError, RxHandler } from '../sim/kernel/objects';
import { datapathOfVport } from '../sim/kernel/net/openvswitch';
import { programIn } from '../sim/kernel/program_registry';
import { spawnSync } from 'child_process';
import { describeWith } from './helpers/env';
import { machineNeeds } from '../sim/model/drivers';

const BUSY = "eth0: its rx_handler is another's (Device or resource busy)";

function hostKernel(): SimKernel {
  const k = new SimKernel(1);
  k.apply({ op: 'host.add', host: 'h', iface: 'eth0', address: '198.51.100.10/24' });
  return k;
}

test('a second handler is EBUSY; unregistering frees the slot for its own handler only', () => {
  const eth0 = hostKernel().link('h', 'h', 'eth0');
  const handler = (): RxHandler => ({ takesAll: true, rx: () => true, ucPromisc: () => false });
  const first = handler();
  const second = handler();
  netdevRxHandlerRegister(eth0, first);
  expect(() => netdevRxHandlerRegister(eth0, second)).toThrow(KernelError);
  expect(() => netdevRxHandlerRegister(eth0, second)).toThrow(BUSY);
  netdevRxHandlerUnregister(eth0, second);
  expect(eth0.rxHandler).toBe(first);
  netdevRxHandlerUnregister(eth0, first);
  expect(eth0.rxHandler).toBeUndefined();
  netdevRxHandlerRegister(eth0, second);
  expect(eth0.rxHandler).toBe(second);
});

test("a lower's port is shared by the devices of its kind; a device of another kind on it is EBUSY, and the port goes with its last device", () => {
  const k = hostKernel();
  const eth0 = k.link('h', 'h', 'eth0');
  k.apply({ op: 'link.add', host: 'h', netns: 'h', name: 'mva', txqueuelen: 0, kind: { type: 'macvlan', parent: 'eth0', mode: 'bridge' } });
  const port = eth0.rxHandler;
  k.apply({ op: 'link.add', host: 'h', netns: 'h', name: 'mvb', txqueuelen: 0, kind: { type: 'macvlan', parent: 'eth0', mode: 'bridge' } });
  expect(eth0.rxHandler).toBe(port);
  expect(port?.uppers?.size).toBe(2);
  expect(() => k.apply({ op: 'link.add', host: 'h', netns: 'h', name: 'iva', txqueuelen: 0, kind: { type: 'ipvlan', parent: 'eth0', mode: 'l2' } })).toThrow(BUSY);
  expect(eth0.rxHandler).toBe(port);
  // The refused device is not left behind: its name is free again, and its index was never spent (lo 1, eth0 2, mva 3, mvb 4: the next is 5).
  expect(k.netns('h', 'h').links.has('iva')).toBe(false);
  expect(() => k.apply({ op: 'link.add', host: 'h', netns: 'h', name: 'iva', txqueuelen: 0, kind: { type: 'macvlan', parent: 'eth0', mode: 'bridge' } })).not.toThrow();
  expect(k.link('h', 'h', 'iva').ifindex).toBe(5);
  expect(port?.uppers?.size).toBe(3);
  k.apply({ op: 'link.del', host: 'h', netns: 'h', name: 'iva' });
  k.apply({ op: 'link.del', host: 'h', netns: 'h', name: 'mva' });
  expect(eth0.rxHandler).toBe(port);
  k.apply({ op: 'link.del', host: 'h', netns: 'h', name: 'mvb' });
  expect(eth0.rxHandler).toBeUndefined();
  k.apply({ op: 'link.add', host: 'h', netns: 'h', name: 'ivb', txqueuelen: 0, kind: { type: 'ipvlan', parent: 'eth0', mode: 'l2' } });
  expect(eth0.rxHandler).not.toBe(port);
  expect([...eth0.rxHandler?.uppers ?? []]).toEqual([k.link('h', 'h', 'ivb')]);
});

test("deleting an Open vSwitch datapath detaches its vports: a netdev's slot is free again, a tunnel vport's device goes with it", () => {
  const k = hostKernel();
  const eth0 = k.link('h', 'h', 'eth0');
  k.apply({ op: 'odp.datapath', host: 'h', netns: 'h', name: 'datapath' });
  k.apply({ op: 'odp.vport', host: 'h', netns: 'h', datapath: 'datapath', vport: { type: 'netdev', dev: 'eth0' } });
  k.apply({ op: 'odp.vport', host: 'h', netns: 'h', datapath: 'datapath', vport: { type: 'vxlan', name: 'vxlan-6784', dstport: 6784 } });
  expect(datapathOfVport(eth0)?.dev).toBe(k.link('h', 'h', 'datapath'));
  expect(datapathOfVport(k.link('h', 'h', 'vxlan-6784'))?.dev).toBe(k.link('h', 'h', 'datapath'));
  k.apply({ op: 'link.del', host: 'h', netns: 'h', name: 'datapath' });
  expect(eth0.rxHandler).toBeUndefined();
  expect([...k.netns('h', 'h').links.keys()].sort()).toEqual(['eth0', 'lo']);
  expect(programIn(k.netns('h', 'h'), 'openvswitch')?.size).toBe(0);
  const next: RxHandler = { takesAll: true, rx: () => true, ucPromisc: () => false };
  netdevRxHandlerRegister(eth0, next);
  expect(eth0.rxHandler).toBe(next);
  // A datapath made again on the same device takes it as a vport afresh.
  netdevRxHandlerUnregister(eth0, next);
  k.apply({ op: 'odp.datapath', host: 'h', netns: 'h', name: 'datapath' });
  k.apply({ op: 'odp.vport', host: 'h', netns: 'h', datapath: 'datapath', vport: { type: 'netdev', dev: 'eth0' } });
  expect(datapathOfVport(eth0)?.dev).toBe(k.link('h', 'h', 'datapath'));
});

// The test makes a macvlan: on a kernel without CONFIG_MACVLAN it skips, by the probe emu runs before a macvlan scenario.
const MACVLAN = machineNeeds(['docker network create -d macvlan -o parent=eth0 mv']).kernel;

describeWith(['ip'], true, 'a stacked device the real kernel refuses', () => {
  test('takes no index: the next device gets the one it would have had (EBUSY comes before register_netdevice)', () => {
    const ns = `fk-${process.pid}-rx`;
    const ip = (line: string) => spawnSync('ip', ['-n', ns, ...line.split(' ')], { encoding: 'utf8' });
    expect(spawnSync('ip', ['netns', 'add', ns]).status).toBe(0);
    try {
      // A bridge port's rx_handler is the bridge's: a macvlan on it is EBUSY (macvlan_port_create).
      for (const line of ['link add va type veth peer name vb', 'link add br0 type bridge', 'link set va master br0']) expect(ip(line).status).toBe(0);
      expect(ip('link add m0 link va type macvlan')).toMatchObject({ status: 2, stderr: 'RTNETLINK answers: Device or resource busy\n' });
      expect(ip('link add vc type veth peer name vd').status).toBe(0);
      const indexes = JSON.parse(ip('-j link show').stdout) as { ifindex: number; ifname: string }[];
      expect(indexes.map((l) => `${l.ifindex} ${l.ifname}`)).toEqual(['1 lo', '2 vb', '3 va', '4 br0', '5 vd', '6 vc']);
    } finally {
      spawnSync('ip', ['netns', 'del', ns]);
    }
  });
}, MACVLAN);
