/**
 * br_netfilter: frames a bridge forwards between two of its ports go through iptables in
 * the bridge's namespace when net.bridge.bridge-nf-call-iptables is 1, which is how
 * Docker's FORWARD rules decide container-to-container traffic on a bridge. The real
 * kernel's default for a new namespace is checked where `ip` can make one.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runSim } from './helpers/run';
import { cnmlab } from './helpers/tshark';
import { Trace } from '../sim/trace/types';
import { describeWith } from './helpers/env';
import { TestNamespaces } from './helpers/netns';
import { parseDropCounters } from '../emu/netfilter';

const ISOLATED = `name: t
hosts:
  r0: {}
steps:
  - r0: docker network create -d bridge -o com.docker.network.bridge.enable_icc=false isolated
  - r0: docker run -dit --name alice --network isolated alpine
  - r0: docker run -dit --name bob --network isolated alpine
`;

describe('br_netfilter in sim', () => {
  test("a network with enable_icc=false: Docker's FORWARD DROP for the bridge stops the ping at the bridge step", async () => {
    const { result, backend } = await runSim(`${ISOLATED}  - alice: ping -c 1 -W 1 bob\n  - r0: iptables -L FORWARD -v -n\n`);
    const [ping, listing] = result.steps.slice(-2);
    expect(ping.stdout).toContain('1 packets transmitted, 0 packets received');
    const flows = backend.datapath.flows;
    const drop = flows[flows.length - 1].hops.find((h) => h.event === 'drop');
    expect([drop?.step, drop?.host, drop?.netns, drop?.device]).toEqual([3, 'r0', 'r0', expect.stringMatching(/^br-[0-9a-f]{12}$/)]);
    expect(drop?.reason).toMatch(/^r0 FORWARD: -i (br-[0-9a-f]{12}) -o \1 -j DROP$/);
    // The echo request is the one packet the rule counted.
    expect(listing.stdout).toMatch(/^ +1 +84 DROP +0 +-- +(br-[0-9a-f]{12}) \1 +0\.0\.0\.0\/0 +0\.0\.0\.0\/0 *$/m);
  });

  test('with net.bridge.bridge-nf-call-iptables=0 the bridge forwards without asking iptables; any nonzero written reads back as 1', async () => {
    const { result } = await runSim(`${ISOLATED}  - r0: sysctl -w net.bridge.bridge-nf-call-iptables=0
  - alice: ping -c 1 bob
  - r0: sysctl -w net.bridge.bridge-nf-call-iptables=7
  - r0: sysctl -n net.bridge.bridge-nf-call-iptables
  - alice: ping -c 1 -W 1 bob
`);
    const [off, ping, on, read, again] = result.steps.slice(-5);
    expect(off.stdout).toBe('net.bridge.bridge-nf-call-iptables = 0\n');
    expect(ping.stdout).toContain('1 packets transmitted, 1 packets received');
    expect(on.stdout).toBe('net.bridge.bridge-nf-call-iptables = 7\n');
    expect(read.stdout).toBe('1\n');
    expect(again.exitCode).toBe(1);
  });

  test("bridged traffic on docker0 passes Docker's FORWARD chain: its -i docker0 -o docker0 ACCEPT counts the new connection's request, conntrack's ESTABLISHED the reply", async () => {
    const { result } = await runSim(`name: t
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name web alpine
  - r0: docker run -dit --name cache alpine
  - web: ping -c 1 172.17.0.3
  - r0: iptables -L FORWARD -v -n
`);
    const listing = result.steps[result.steps.length - 1].stdout;
    expect(listing).toMatch(/^ +1 +84 ACCEPT +0 +-- +docker0 docker0 +0\.0\.0\.0\/0 +0\.0\.0\.0\/0 *$/m);
    expect(listing).toMatch(/^ +1 +84 ACCEPT +0 +-- +\* +docker0 +0\.0\.0\.0\/0 +0\.0\.0\.0\/0 +ctstate RELATED,ESTABLISHED *$/m);
  });
});

describe("emu's drop attribution", () => {
  test('a dropping rule in a user chain is named after the hook that jumps to it, as the sim names it', () => {
    const save = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [3:252]
:DOCKER-USER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
[5:420] -A FORWARD -j DOCKER-USER
[5:420] -A FORWARD -j DOCKER-ISOLATION-STAGE-1
[2:168] -A FORWARD -i br-0123456789ab -o br-0123456789ab -j DROP
[1:84] -A DOCKER-USER -i docker0 -o docker0 -p icmp -j DROP
[4:336] -A DOCKER-USER -j RETURN
[0:0] -A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
[0:0] -A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
[0:0] -A INPUT -p udp -m udp --dport 4789 -j DROP
COMMIT
`;
    expect(parseDropCounters(save)).toEqual(new Map([
      ['filter FORWARD: policy DROP', 3],
      ['filter FORWARD: -i br-0123456789ab -o br-0123456789ab -j DROP', 2],
      ['filter FORWARD → DOCKER-USER: -i docker0 -o docker0 -p icmp -j DROP', 1],
      ['filter FORWARD → DOCKER-ISOLATION-STAGE-2: -o docker0 -j DROP', 0],
      ['filter INPUT: -p udp -m udp --dport 4789 -j DROP', 0],
    ]));
  });
});

describeWith(['ip', 'bridge', 'tcpdump', 'ping'], true, 'emu on the real kernel', () => {
  test("the bridge-netfilter lab: every drop is placed as sim places it, on the bridge whose FORWARD rule took it", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-brnf-'));
    try {
      const drops = (mode: 'sim' | 'emu') => {
        const file = path.join(dir, `${mode}.json`);
        const r = cnmlab(['run', 'scenarios/bridge-netfilter.yaml', '--mode', mode, '--trace', file]);
        expect(r.stderr).toBe('');
        const t: Trace = JSON.parse(fs.readFileSync(file, 'utf8'));
        return t.flows.flatMap((f) => f.hops.filter((h) => h.event === 'drop').map((h) => [f.id, h.step, h.host, h.netns, h.device, h.reason]));
      };
      const sim = drops('sim');
      expect(sim.map((d) => d[4])).toEqual(['br-426cd8b1c06d', 'docker0']);
      expect(drops('emu')).toEqual(sim);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeWith(['ip'], true, 'the real kernel', () => {
  test('a new network namespace starts with bridge-nf-call-iptables at 1, as the sim has it', () => {
    const spaces = new TestNamespaces();
    spaces.add('brnf');
    try {
      expect(spaces.exec('brnf', ['cat', '/proc/sys/net/bridge/bridge-nf-call-iptables'])).toBe('1\n');
    } finally {
      spaces.cleanup();
    }
  });
});
