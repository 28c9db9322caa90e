/**
 * OUTPUT's DNAT to a destination no route goes to: ip_route_me_harder's lookup fails, the
 * NAT hook drops the datagram with -ENETUNREACH (NF_DROP_ERR) and the sender's sendto gets
 * it. BusyBox's ping dies at its sendto; iputils' counts the probe lost and says nothing.
 * The same holds for a datagram sent in fragments (the hooks see it whole, before
 * ip_finish_output cuts it) and for one to a local address (the loopback path).
 * Measured on the real kernel (the emu half runs the same lab there).
 */
import { expectEmuPrints, printed, runSim } from './helpers/run';
import { normaliseOutput } from '../sim/trace/compare';
import { calicoLab } from './helpers/calico';
import { describeWith } from './helpers/env';

const NAT_TO_NOWHERE = `name: nat-to-nowhere
hosts:
  r0: {}
  r1: {}
steps:
  - r0: iptables -t nat -A OUTPUT -d 198.51.100.11 -j DNAT --to-destination 203.0.113.9
  - r0: busybox ping -c 1 -W 1 198.51.100.11
  - r0: ping -c 1 -W 1 198.51.100.11
  - r0: iptables -t nat -A OUTPUT -d 127.0.0.2 -j DNAT --to-destination 203.0.113.9
  - r0: busybox ping -c 1 -W 1 -s 2000 198.51.100.11
  - r0: busybox ping -c 1 -W 1 127.0.0.2
  - r0: ping -c 1 -W 1 -s 2000 198.51.100.11
`;

const EXPECTED = [
  [0, '', ''],
  [1, 'PING 198.51.100.11 (198.51.100.11): 56 data bytes\n', 'ping: sendto: Network is unreachable\n'],
  [1, 'PING 198.51.100.11 (198.51.100.11) 56(84) bytes of data.\n\n--- 198.51.100.11 ping statistics ---\n1 packets transmitted, 0 received, 100% packet loss, time 0ms\n\n', ''],
  [0, '', ''],
  [1, 'PING 198.51.100.11 (198.51.100.11): 2000 data bytes\n', 'ping: sendto: Network is unreachable\n'],
  [1, 'PING 127.0.0.2 (127.0.0.2): 56 data bytes\n', 'ping: sendto: Network is unreachable\n'],
  [1, 'PING 198.51.100.11 (198.51.100.11) 2000(2028) bytes of data.\n\n--- 198.51.100.11 ping statistics ---\n1 packets transmitted, 0 received, 100% packet loss, time 0ms\n\n', ''],
];

describe("OUTPUT's DNAT to an unroutable address", () => {
  test('fails the send with ENETUNREACH, as ip_route_me_harder does, and the trace shows the NAT hook dropping it', async () => {
    const { result, backend } = await runSim(NAT_TO_NOWHERE);
    expect(printed(result.steps)).toEqual(EXPECTED);
    const pings = backend.flows().filter((f) => f.kind === 'icmp-echo');
    expect(pings.map((f) => f.hops[f.hops.length - 1])).toEqual(['eth0', 'eth0', 'eth0', 'lo', 'eth0'].map((device) =>
      expect.objectContaining({ event: 'drop', host: 'r0', device, reason: 'no route to 203.0.113.9 after NAT' })));
  });
});

// Calico's IP-in-IP host with no default route (169.254.1.1 kept routed, so the host still
// answers the container's ARP for its gateway by proxy): OUTPUT's DNAT takes tunl0's outer
// datagram where no route goes. ipip is not available in this kernel, so sim alone runs it.
const IPIP_TO_NOWHERE = calicoLab('ipip', `  - r0: ip route del default
  - r0: ip route add 169.254.1.1 dev eth0
  - r0: iptables -t nat -A OUTPUT -p 4 -j DNAT --to-destination 203.0.113.9
  - c0: ping -c 1 -W 1 192.168.126.193
    expect: { exit: 1, stdout: "1 packets transmitted, 0 received" }
`);

describe("OUTPUT's DNAT of an IP-in-IP tunnel's outer datagram to an unroutable address", () => {
  test("is traced once, as the NAT hook's drop: tunl0's transmit does not trace it again", async () => {
    const { result, backend } = await runSim(IPIP_TO_NOWHERE);
    expect(result.steps.filter((s) => !s.ok).map((s) => s.command)).toEqual([]);
    const [ping] = backend.flows().filter((f) => f.kind === 'icmp-echo');
    const drops = ping.hops.filter((h) => h.event === 'drop');
    expect(drops).toEqual([expect.objectContaining({ host: 'r0', netns: 'r0', device: 'eth0', reason: 'no route to 203.0.113.9 after NAT' })]);
    // The datagram got as far as the tunnel: the drop is of its outer datagram.
    expect(ping.hops.map((h) => `${h.device} ${h.event}`)).toContain('tunl0 forward');
  });
});

describeWith(['ip', 'iptables', 'busybox', 'ping'], true, "OUTPUT's DNAT to an unroutable address on the real kernel", () => {
  test('prints what sim prints', () => {
    // As verify compares them: iputils' loss summary counts the kernel's real milliseconds (0 or 1 for one lost probe).
    const elapsedBlanked = (rows: unknown[][]) => rows.map(([code, out, err]) => [code, normaliseOutput(out as string), err]);
    expectEmuPrints('nat-to-nowhere.yaml', NAT_TO_NOWHERE, elapsedBlanked(EXPECTED), { status: 0, view: (steps) => elapsedBlanked(printed(steps)) });
  }, 120000);
});
