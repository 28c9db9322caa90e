/**
 * `docker run --network host`: the container joins libnetwork's default sandbox, its host's
 * own namespace (moby v20.10 buildSandboxOptions: OptionUseDefaultSandbox), so its programs
 * see and use the host's devices; its hostname is the host's (newContainer: os.Hostname())
 * and its /etc/hosts and /etc/resolv.conf are copies of the host's (setupPathsAndSandboxOptions;
 * a lab's host has no resolv.conf, so libnetwork's setupDNS makes an empty one). Inspect shows
 * the default sandbox's key and an endpoint on the host network with no address. The same
 * steps print the same in emu, where the container's programs run in the host's namespace.
 */
import { runSim, runEmu, PrintedStep, StepPrint } from './helpers/run';
import { describeWith } from './helpers/env';
import { traceProblem } from '../sim/trace/validate';
import { compareTraces } from '../sim/trace/compare';
import { classifyPath } from '../sim/trace/path';
import type { Flow } from '../sim/trace/types';
import { nameserversOf } from '../sim/kernel/embedded_dns';
import { viewFile } from '../sim/model/etc';
import { hostOf } from '../sim/model/world';

const HOST_NETWORK = `name: host-network
hosts:
  r0: {}
  r1: {}
steps:
  - r0: docker run -dit --name web busybox
  - r0: docker run -dit --name h0 --network host ubuntu
  - r0: docker inspect -f '{{json .NetworkSettings}}' h0
  - r0: docker inspect -f '{{.Config.Hostname}} {{.HostConfig.NetworkMode}}' h0
  - h0: ip route
  - r0: ip route
  - h0: hostname
  - h0: cat /etc/hosts
  - h0: cat /etc/resolv.conf
  - h0: ping -c 1 172.17.0.2
  - h0: ping -c 1 198.51.100.11
  - h0: ip link add d0 type dummy
  - r0: docker network inspect -f '{{json .Containers}}' host
  - r0: docker network connect bridge h0
  - r0: docker network disconnect host h0
  - r0: docker rm -f h0
  - r0: ip route
  - r0: docker network inspect -f '{{json .Containers}}' host
  - r0: ln -s /var/run/docker/netns /var/run/netns
  - r0: ip netns
  - r0: ip netns exec default ip route
  - r0: docker run -dit --name h1 --network host busybox
  - h1: nslookup web
  - h1: ping -c 1 web
  - r0: docker run -dit --name h2 --network host ubuntu
  - h2: nslookup web
`;

const STEP = {
  settings: 2, config: 3, routesInside: 4, routesHost: 5, hostname: 6, hosts: 7, resolv: 8, pingBridge: 9, pingUnderlay: 10,
  linkAdd: 11, hostNetwork: 12, connect: 13, disconnect: 14, routesAfter: 16, hostNetworkAfter: 17, netns: 19, netnsDefault: 20, nslookup: 22, pingByName: 23, bindNslookup: 25,
} as const;

/** A step as both modes print it, the round-trip times (the real kernel's) blanked. */
function comparable(s: StepPrint): [number, string, string] {
  const stdout = s.stdout.replace(/time=[\d.]+ ms/g, 'time=T ms').replace(/, time \d+ms/g, ', time Tms').replace(/^rtt .*$/gm, 'rtt T');
  return [s.exitCode, stdout, s.stderr];
}

describe('docker run --network host (sim)', () => {
  test("the container is in its host's namespace: its devices, name, files and ping are the host's", async () => {
    const { result } = await runSim(HOST_NETWORK);
    const out = result.steps.map((s) => s.stdout);
    const refused: number[] = [STEP.linkAdd, STEP.connect, STEP.disconnect, STEP.nslookup, STEP.pingByName, STEP.bindNslookup];
    expect(result.steps.filter((s, i) => !refused.includes(i) && s.exitCode !== 0)).toEqual([]);
    const settings = JSON.parse(out[STEP.settings]);
    expect(settings).toMatchObject({
      Bridge: '', SandboxKey: '/var/run/docker/netns/default', SandboxID: expect.stringMatching(/^[0-9a-f]{64}$/),
      EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, MacAddress: '',
    });
    expect(Object.keys(settings.Networks)).toEqual(['host']);
    expect(settings.Networks.host).toEqual({
      IPAMConfig: null, Links: null, Aliases: null, NetworkID: expect.stringMatching(/^[0-9a-f]{64}$/), EndpointID: expect.stringMatching(/^[0-9a-f]{64}$/),
      Gateway: '', IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, MacAddress: '', DriverOpts: null,
    });
    expect(out[STEP.config]).toBe('r0 host\n');
    // The host's routes: its eth0 on the underlay and docker0, no eth0 of the container's own.
    expect(out[STEP.routesInside]).toBe(out[STEP.routesHost]);
    expect(out[STEP.routesInside]).toBe('172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1 \n198.51.100.0/24 dev eth0 proto kernel scope link src 198.51.100.10 \n');
    expect(out[STEP.hostname]).toBe('r0\n');
    expect(out[STEP.hosts]).toBe('127.0.0.1\tlocalhost\n127.0.1.1\tr0\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n');
    expect(out[STEP.resolv]).toBe('');
    // From docker0's address to the bridge's container, and from eth0's to the other host.
    expect(out[STEP.pingBridge]).toContain('1 packets transmitted, 1 received');
    expect(out[STEP.pingUnderlay]).toContain('1 packets transmitted, 1 received');
    const pings = result.trace.flows.filter((f) => f.kind === 'icmp-echo');
    expect(pings.map((f) => [f.from, f.to, f.path, f.hostNamespace])).toEqual([['h0', '172.17.0.2', 'host', true], ['h0', '198.51.100.11', 'host', true]]);
    // The host path: the host sends down through docker0, which forwards the request to web's port, and web takes it;
    // the other leaves eth0, crosses the underlay and r1's eth0 takes it. Each reply walks the same steps back.
    const requests = (i: number) => pings[i].hops.filter((h) => h.dir === 'request' && h.layers.some((l) => l.proto === 'icmp')).map((h) => [h.step, h.netns === 'r0' || h.netns === 'r1' || h.netns === 'underlay' ? h.netns : 'web', h.device, h.event]);
    expect(requests(0)).toEqual([[1, 'r0', 'docker0', 'send'], [2, 'r0', expect.stringMatching(/^veth/), 'bridge-forward'], [3, 'web', 'eth0', 'deliver']]);
    expect(requests(1)).toEqual([[1, 'r0', 'eth0', 'send'], [2, 'underlay', 'segment', 'underlay'], [3, 'r1', 'eth0', 'deliver']]);
    expect(pings.map((f) => classifyPath(f).kind)).toEqual(['host', 'host']);
    expect(traceProblem(result.trace)).toBeUndefined();
    // Docker's default capabilities hold in the host's namespace too: no CAP_NET_ADMIN.
    expect(result.steps[STEP.linkAdd]).toMatchObject({ exitCode: 2, stderr: 'RTNETLINK answers: Operation not permitted\n' });
    const hostNetwork = JSON.parse(out[STEP.hostNetwork]);
    expect(Object.values(hostNetwork)).toEqual([{ Name: 'h0', EndpointID: settings.Networks.host.EndpointID, MacAddress: '', IPv4Address: '', IPv6Address: '' }]);
    expect(result.steps[STEP.connect]).toMatchObject({ exitCode: 1, stderr: 'Error response from daemon: container sharing network namespace with another container or host cannot be connected to any other network\n' });
    expect(result.steps[STEP.disconnect]).toMatchObject({ exitCode: 1, stderr: 'Error response from daemon: container cannot be disconnected from host network or connected to host network\n' });
    // Its removal leaves the host's namespace as it was.
    expect(out[STEP.routesAfter]).toBe(out[STEP.routesHost]);
    expect(out[STEP.hostNetworkAfter]).toBe('{}\n');
    // The default sandbox's file, bound at h0's start, outlives it (libnetwork never destroys it), and names the host's namespace.
    expect(out[STEP.netns]).toMatch(/^default\n[0-9a-f]{12}\n$/);
    expect(out[STEP.netnsDefault]).toBe(out[STEP.routesHost]);
    // An empty resolv.conf: BusyBox asks 127.0.0.1, where nothing listens in the host's namespace, and gives up at once.
    expect(result.steps[STEP.nslookup]).toMatchObject({ exitCode: 1, stdout: ';; connection timed out; no servers could be reached\n\n', stderr: "nslookup: write to '127.0.0.1': Connection refused\n" });
    expect(result.steps[STEP.pingByName]).toMatchObject({ exitCode: 1, stderr: "ping: bad address 'web'\n" });
    // bind's nslookup asks its defaults, ::1 and 127.0.0.1, both refused at once.
    expect(result.steps[STEP.bindNslookup]).toMatchObject({ exitCode: 1, stdout: ';; communications error to ::1#53: connection refused\n'.repeat(3) + ';; communications error to 127.0.0.1#53: connection refused\n;; no servers could be reached\n\n' });
  });

  test("a host's ping the namespace routes off the host path (a step's own route) is placed on no path", async () => {
    const { result } = await runSim(`name: host-route-elsewhere
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name web busybox
  - r0: ip route add 172.17.0.2/32 dev eth0
  - r0: ping -c 1 -W 1 172.17.0.2
`);
    const ping = result.trace.flows.find((f) => f.kind === 'icmp-echo')!;
    expect([ping.hostNamespace, ping.path]).toEqual([true, undefined]);
  });

  test("a stopped container starts again in the host's namespace; --hostname names it, the host's /etc/hosts unchanged", async () => {
    const { result } = await runSim(`name: host-network-restart
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name h1 -h box --network host ubuntu
  - r0: docker stop h1
  - r0: docker start h1
  - h1: hostname
  - h1: cat /etc/hosts
  - r0: docker inspect -f '{{.NetworkSettings.SandboxKey}} {{.Config.Hostname}}' h1
  - r0: docker run -dit --network host --ip 172.17.0.9 busybox
`);
    const out = result.steps.map((s) => s.stdout);
    expect(out.slice(3, 6)).toEqual(['box\n', expect.stringContaining('127.0.1.1\tr0\n'), '/var/run/docker/netns/default box\n']);
    // --ip on a predefined network: the daemon refuses the start (validateNetworkingConfig).
    expect(result.steps[6]).toMatchObject({ exitCode: 125, stderr: 'docker: Error response from daemon: user specified IP address is supported on user defined networks only.\n' });
  });
  test("its resolver reads the resolv.conf its cat reads: its empty copy of the host's none, or a file the namespace holds", async () => {
    const { model, backend } = await runSim(`name: host-network-resolv
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name h0 --network host busybox
`);
    const h0 = Object.values(hostOf(model.world, 'r0').containers).find((c) => c.name === 'h0')!;
    const hostNs = backend.kernel.netns('r0', 'r0');
    const ctx = { world: model.world, namesVisible: false };
    expect(nameserversOf(hostNs, { ...ctx, container: h0.id })).toEqual([]);
    // A file the host's namespace held would be the container's too (cat reads it first): one source for both.
    hostNs.files.set('/etc/resolv.conf', 'nameserver 192.0.2.53\n');
    expect(nameserversOf(hostNs, { ...ctx, container: h0.id })).toEqual(['192.0.2.53']);
    expect(viewFile(model.world, hostNs.files, { container: h0.id }, '/etc/resolv.conf')).toBe('nameserver 192.0.2.53\n');
  });
});

describeWith(['ip', 'ping'], true, 'docker run --network host on the real kernel', () => {
  test('prints what sim prints', async () => {
    const { result } = await runSim(HOST_NETWORK);
    const r = runEmu('host-network.yaml', HOST_NETWORK);
    expect(r.stderr).toBe('');
    expect(r.steps.map((s: PrintedStep) => comparable(s))).toEqual(result.steps.map(comparable));
    // Its pings are its host's own, captured on the host path (docker0 and web's side; both hosts' eth0 and the underlay): hop for hop as sim's.
    const emuPings = r.trace!.flows.filter((f) => f.kind === 'icmp-echo');
    expect(emuPings.map((f) => [f.id, f.from, f.to, f.path, f.hostNamespace, f.hops.filter((h) => h.step !== undefined).length > 0])).toEqual([['ping-1', 'h0', '172.17.0.2', 'host', true, true], ['ping-2', 'h0', '198.51.100.11', 'host', true, true]]);
    expect(compareTraces(result.trace, r.trace!)).toBeUndefined();
    // Marked alike is the agreement: a sim flow of a host's namespace against an emu flow not so marked differs.
    const unmarked = { ...r.trace!, flows: r.trace!.flows.map((f) => ({ ...f, hostNamespace: undefined })) };
    expect(compareTraces(result.trace, unmarked)).toMatchObject({ where: "ping-1 (sent from a host's namespace)" });
    // A capture on the host path that saw nothing differs from sim's hops: only a flow emu did not set out to capture is compared by its ends.
    const unseen = { ...r.trace!, flows: r.trace!.flows.map((f) => (f.kind === 'icmp-echo' ? { ...f, hops: [] } : f)) };
    expect(compareTraces(result.trace, unseen)).toMatchObject({ where: 'ping-1 hop 1' });
  }, 180000);

  test("a host-path ping a rule drops is dropped where sim drops it: in the destination container's INPUT, in the other host's", async () => {
    const lab = `name: host-network-loss
hosts:
  r0: {}
  r1: {}
steps:
  - r0: docker run -dit --name n0 --cap-add NET_ADMIN ubuntu
  - n0: iptables -A INPUT -p icmp -j DROP
  - r0: docker run -dit --name h0 --network host ubuntu
  - h0: ping -c 1 -W 1 172.17.0.2
  - r1: iptables -A INPUT -p icmp -j DROP
  - h0: ping -c 1 -W 1 198.51.100.11
  - h0: ping -c 1 -M do -s 2000 172.17.0.2
`;
    const { result } = await runSim(lab);
    const r = runEmu('host-network-loss.yaml', lab);
    expect(r.stderr).toBe('');
    expect(r.steps.map((s: PrintedStep) => comparable(s))).toEqual(result.steps.map(comparable));
    const drops = (flows: Flow[]) => flows.filter((f) => f.kind === 'icmp-echo').map((f) => f.hops.filter((h) => h.event === 'drop').map((h) => [h.step, h.host, h.device, h.reason]));
    // Taken in by the destination's eth0 (step 3, receive), then its INPUT dropped it; too long for docker0, refused at the sender's socket (step 1, send).
    expect(drops(r.trace!.flows)).toEqual([[[3, 'r0', 'eth0', expect.stringMatching(/^r0\/[0-9a-f]{12} INPUT: -p icmp -j DROP$/)]], [[3, 'r1', 'eth0', 'r1 INPUT: -p icmp -j DROP']], [[1, 'r0', 'docker0', 'DF set and over the device MTU: message too long, mtu=1500']]]);
    // Sim words the MTU refusal its own way (it has the datagram's length); where each mode drops agrees.
    const where = (flows: Flow[]) => drops(flows).map((ds) => ds.map((d) => d.slice(0, 3)));
    expect(where(r.trace!.flows)).toEqual(where(result.trace.flows));
    expect(compareTraces(result.trace, r.trace!)).toBeUndefined();
  }, 180000);

  test("a restart is a new process in the host's namespace: inspect's State.Pid changes", () => {
    const r = runEmu('host-network-restart.yaml', `name: host-network-restart
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name h0 --network host busybox
  - r0: docker inspect -f '{{.State.Pid}}' h0
  - h0: hostname
  - r0: docker restart h0
  - r0: docker inspect -f '{{.State.Pid}}' h0
  - h0: hostname
`);
    expect(r.stderr).toBe('');
    const [before, after] = [r.steps[1].stdout, r.steps[4].stdout].map((pid) => Number(pid.trim()));
    expect(before).toBeGreaterThan(0);
    expect(after).toBeGreaterThan(0);
    expect(after).not.toBe(before);
    expect(r.steps[5].stdout).toBe('r0\n');
  }, 120000);
});
