/**
 * `tc qdisc` in sim: iproute2 6.1's texts, rounding and refusals as measured with the real
 * tc in namespaces on this machine; tbf shaping on the sim clock; netem's seeded loss and
 * delay; and emu's answer when its kernel lacks a qdisc sim models (netem).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { printed, runSim, twoNodes } from './helpers/run';
import { cnmlab } from './helpers/tshark';
import { describeWith } from './helpers/env';
import { missingKernelFeature } from '../sim/commands/kernel-features';
import { lookupCommand } from '../sim/commands/registry';

const host = (steps: string[]) => `name: t\nhosts:\n  r0: {}\nsteps:\n${steps.map((s) => `  - r0: ${s}\n`).join('')}`;

/** Each step's exit code, stdout and stderr. */
async function outputs(steps: string[]) {
  const { result } = await runSim(host(steps));
  return printed(result.steps);
}

const USAGE = 'Usage: ... tbf limit BYTES burst BYTES[/BYTES] rate KBPS [ mtu BYTES[/BYTES] ]\n\t[ peakrate KBPS ] [ latency TIME ] [ overhead BYTES ] [ linklayer TYPE ]\n';

describe('tc qdisc in sim, as iproute2 6.1 and the kernel answer', () => {
  test('show, add, change, replace and del print what the real tc prints, burst and latency read back through psched ticks', async () => {
    const out = await outputs([
      'tc qdisc show dev eth0',
      'tc qdisc add dev eth0 root tbf rate 1mbit burst 4kb latency 400ms',
      'tc qdisc show dev eth0',
      'tc qdisc change dev eth0 root tbf rate 2mbit burst 8kb limit 10000',
      'tc qdisc show dev eth0',
      'tc qdisc replace dev eth0 root tbf rate 1gbit burst 100kb latency 2s',
      'tc qdisc show dev eth0',
      'tc qdisc replace dev eth0 root tbf rate 1.5mbit burst 3000 latency 70ms',
      'tc qdisc show dev eth0',
      'tc qdisc replace dev eth0 root tbf rate 12345kbit burst 20000 limit 30000',
      'tc qdisc show dev eth0',
      'tc qdisc replace dev eth0 root tbf rate 8000bit burst 1000b latency 1000us',
      'tc qdisc show',
      'ip link show eth0',
      'tc qdisc del dev eth0 root',
      'tc qdisc show dev eth0',
    ]);
    const stdout = out.map((o) => o[1]);
    expect(out.every((o) => o[0] === 0 && o[2] === '')).toBe(true);
    expect(stdout[0]).toBe('qdisc noqueue 0: root refcnt 2 \n');
    expect(stdout[2]).toBe('qdisc tbf 8001: root refcnt 3 rate 1Mbit burst 4Kb lat 400ms \n');
    expect(stdout[4]).toBe('qdisc tbf 8001: root refcnt 3 rate 2Mbit burst 8Kb lat 7.23ms \n');
    expect(stdout[6]).toBe('qdisc tbf 8001: root refcnt 3 rate 1Gbit burst 102375b lat 2s \n');
    expect(stdout[8]).toBe('qdisc tbf 8001: root refcnt 3 rate 1500Kbit burst 2999b lat 70ms \n');
    expect(stdout[10]).toBe('qdisc tbf 8001: root refcnt 3 rate 12345Kbit burst 19998b lat 6.48ms \n');
    expect(stdout[12]).toContain('qdisc noqueue 0: dev lo root refcnt 2 \nqdisc tbf 8001: dev eth0 root refcnt 3 rate 8Kbit burst 1000b lat 999us \n');
    expect(stdout[13]).toMatch(/^2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc tbf state UP /);
    expect(stdout[15]).toBe('qdisc noqueue 0: root refcnt 2 \n');
  });

  test('refusals: tc\'s own (exit 1) and the kernel\'s (Error: …, exit 2), with their texts', async () => {
    const out = await outputs([
      'tc qdisc add dev eth0 root tbf rate 1mbit burst 4kb latency 400ms',
      'tc qdisc add dev eth0 root tbf rate 1mbit burst 4kb latency 400ms',
      'tc qdisc del dev eth0 root netem',
      'tc qdisc del dev eth0 root tbf',
      'tc qdisc change dev eth0 root netem loss 1%',
      'tc qdisc del dev eth0 root',
      'tc qdisc del dev eth0 root',
      'tc qdisc change dev eth0 root tbf rate 2mbit burst 8kb limit 10000',
      'tc qdisc add dev nope root tbf rate 1mbit burst 4kb latency 400ms',
      'tc qdisc show dev nope',
      'tc qdisc add dev eth0 root tbf rate 1mbit',
      'tc qdisc add dev eth0 root tbf rate 1mbit burst 4kb latency 400ms limit 5000',
      'tc qdisc add dev eth0 root tbf rate 1mbit burst 4kb latency 400ms bogus',
      'tc qdisc add dev eth0 root tbf rate 1xbit burst 4kb latency 400ms',
      'tc qdisc add dev eth0 root tbf rate 1mbit burst 4kb peakrate 2mbit latency 1s',
    ]);
    expect(out[1]).toEqual([2, '', 'Error: Exclusivity flag on, cannot modify.\n']);
    expect(out[2]).toEqual([2, '', 'Error: Invalid qdisc name: must match existing qdisc.\n']);
    // `del … tbf` hands tbf's parser no options, which it refuses.
    expect(out[3]).toEqual([1, '', `tbf: the "rate" parameter is mandatory.\ntbf: the "burst" parameter is mandatory.\ntbf: either "limit" or "latency" is required.\n${USAGE}`]);
    expect(out[4]).toEqual([2, '', 'Error: Invalid qdisc name: must match existing qdisc.\n']);
    expect(out[5][0]).toBe(0);
    expect(out[6]).toEqual([2, '', 'Error: Cannot delete qdisc with handle of zero.\n']);
    expect(out[7]).toEqual([2, '', 'Error: Qdisc not found. To create specify NLM_F_CREATE flag.\n']);
    expect(out[8]).toEqual([1, '', 'Cannot find device "nope"\n']);
    expect(out[9]).toEqual([1, '', 'Cannot find device "nope"\n']);
    expect(out[10]).toEqual([1, '', `tbf: the "burst" parameter is mandatory.\ntbf: either "limit" or "latency" is required.\n${USAGE}`]);
    expect(out[11]).toEqual([1, '', 'tbf: specifying both "latency" and "limit" is not allowed\n']);
    expect(out[12]).toEqual([1, '', `tbf: unknown parameter "bogus"\n${USAGE}`]);
    expect(out[13]).toEqual([1, '', 'tbf: illegal value for "rate": "1xbit"\n']);
    // An option tc reads that cnmlab does not model: the registry refuses the line before either mode runs (tc's own refusal is unmodelled-agree's).
    expect(out[14]).toEqual([127, '', 'cnmlab: not modelled: tc qdisc add dev eth0 root tbf rate 1mbit burst 4kb peakrate 2mbit latency 1s\n']);
  });

  test('the registry takes tbf and netem as root qdiscs and refuses other kinds in both modes', () => {
    expect(lookupCommand(['tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'netem', 'loss', '5%'], 'container').modelled).toBe(true);
    expect(lookupCommand(['tc', 'qdisc', 'show'], 'host').modelled).toBe(true);
    expect(lookupCommand(['tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'htb'], 'host').modelled).toBe(false);
    expect(lookupCommand(['tc', 'qdisc', 'add', 'dev', 'eth0', 'parent', '1:', 'tbf'], 'host').modelled).toBe(false);
    expect(lookupCommand(['tc', 'filter', 'show'], 'host').modelled).toBe(false);
  });
});

const pingSteps = (qdisc: string, ping: string) => twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net --cap-add NET_ADMIN ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
  - ubuntu0: ping -c 1 10.0.1.4
  - ${qdisc}
  - ubuntu0: ${ping}
`);

const rtts = (stdout: string) => [...stdout.matchAll(/icmp_seq=(\d+) ttl=64 time=([\d.]+) ms/g)].map((m) => [Number(m[1]), Number(m[2])]);

describe('qdiscs at the transmit point', () => {
  test('tbf lets a burst through, then spaces frames by their transmit time at the rate, and drops what its byte limit cannot hold', async () => {
    // 1442-byte frames at 125,000 bytes/s cost 11.536 ms of a 16.384 ms (2 KiB) bucket; probes leave 2 ms apart.
    const shaped = await runSim(pingSteps('ubuntu0: tc qdisc add dev eth0 root tbf rate 1mbit burst 2kb latency 1s', 'ping -c 4 -i 0.002 -s 1400 10.0.1.4'));
    const out = shaped.result.steps[shaped.result.steps.length - 1].stdout;
    const [[, base], [, second], [, third], [, fourth]] = rtts(out);
    expect(second - base).toBeCloseTo(4.688, 2);
    expect(third - base).toBeCloseTo(14.224, 1);
    expect(fourth - third).toBeCloseTo(11.536 - 2, 1);
    // A 3000-byte FIFO holds two waiting frames: the fourth finds it full.
    const limited = await runSim(pingSteps('ubuntu0: tc qdisc add dev eth0 root tbf rate 1mbit burst 2kb limit 3000', 'ping -c 4 -i 0.002 -s 1400 10.0.1.4'));
    const last = limited.result.steps[limited.result.steps.length - 1];
    expect(last.stdout).toContain('4 packets transmitted, 3 received, 25% packet loss');
    const drop = limited.result.trace.flows[limited.result.trace.flows.length - 1].hops.find((h) => h.event === 'drop')!;
    expect(drop).toMatchObject({ step: 1, device: 'eth0', reason: 'tbf: queue full (limit 3000 bytes)' });
  });

  test('netem delays each frame and loses frames by a seeded draw: the same ones on every run, traced at step 4 with the loss', async () => {
    const text = pingSteps('r0: tc qdisc add dev eth0 root netem delay 20ms 5ms loss 30%', 'ping -c 20 -i 0.2 -W 1 10.0.1.4');
    const a = await runSim(text);
    const b = await runSim(text);
    const out = a.result.steps[a.result.steps.length - 1].stdout;
    expect(out).toBe(b.result.steps[b.result.steps.length - 1].stdout);
    const received = rtts(out);
    expect(received.length).toBeGreaterThan(5);
    expect(received.length).toBeLessThan(20);
    // Uniform in [15, 25) ms on the way out only, plus the path's own fraction of a millisecond.
    for (const [, t] of received) expect(t > 15 && t < 26).toBe(true);
    expect(new Set(received.map(([, t]) => t)).size).toBeGreaterThan(1);
    const drops = a.result.trace.flows[a.result.trace.flows.length - 1].hops.filter((h) => h.event === 'drop');
    expect(drops.length).toBe(20 - received.length);
    expect(drops.every((h) => h.step === 4 && h.host === 'r0' && h.device === 'eth0' && h.reason === 'netem loss 30%')).toBe(true);
  });
});

describe('a kernel without a qdisc sim models', () => {
  test('the real tc\'s answer for netem says the step is not available in this kernel; any other answer does not', () => {
    const argv = ['tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'netem', 'loss', '5%'];
    const unknown = { stdout: '', stderr: 'Error: Specified qdisc kind is unknown.\n', exitCode: 2 };
    expect(missingKernelFeature(argv, unknown)).toBe('qdisc netem (CONFIG_NET_SCH_NETEM)');
    expect(missingKernelFeature(argv, { stdout: '', stderr: '', exitCode: 0 })).toBeUndefined();
    expect(missingKernelFeature(argv, { ...unknown, stderr: 'Error: Exclusivity flag on, cannot modify.\n' })).toBeUndefined();
    expect(missingKernelFeature(['iptables', '-L'], unknown)).toBeUndefined();
  });
});

describeWith(['ip', 'tc'], true, 'emu without netem', () => {
  const scenario = host(['tc qdisc add dev eth0 root tbf rate 1mbit burst 4kb latency 400ms', 'tc qdisc show dev eth0', 'tc qdisc add dev docker0 root netem loss 5%', 'tc qdisc show dev docker0'])
    .replace(/r0: (tc qdisc (add|show) dev eth0[^\n]*)/g, 'r0: $1\n    expect: { exit: 0 }')
    .replace(/(netem loss 5%)/, '$1\n    expect: { exit: 0 }');

  test('run stops at the step with one line and exit 2; verify --mode both reports it as not available, compares what came before, and passes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-tc-'));
    const file = path.join(dir, 'netem.yaml');
    fs.writeFileSync(file, scenario);
    const probe = cnmlab(['run', file, '--mode', 'emu']);
    if (!/not available in this kernel/.test(probe.stderr)) {
      // A kernel with netem runs it as sim does.
      expect(probe.status).toBe(0);
      return;
    }
    expect(probe.status).toBe(2);
    expect(probe.stdout).toContain('Error: Specified qdisc kind is unknown.');
    expect(probe.stderr).toBe(`cnmlab: step 3 (${file}:9) is not available in this kernel: qdisc netem (CONFIG_NET_SCH_NETEM); the run stopped there (1 step(s) after it not run)\n`);
    const v = cnmlab(['verify', file, '--mode', 'both']);
    expect(v.stdout).toContain('SKIP t [emu] step 3 (line 9) r0: tc qdisc add dev docker0 root netem loss 5%: not available in this kernel: qdisc netem (CONFIG_NET_SCH_NETEM); the 1 step(s) after it not run in emu');
    expect(v.stdout).toContain('PASS t [both] sim and emu print the same (normalised)');
    expect(v.stdout).toMatch(/^\d+ passed, 0 failed, 1 not available in this kernel$/m);
    expect(v.status).toBe(0);
    fs.rmSync(dir, { recursive: true });
  });
});
