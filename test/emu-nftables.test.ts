/**
 * A sandbox's DNS rules sent by the namespace worker as one nf_tables batch (emu/nftables.ts),
 * with no iptables-restore: the kernel must end up holding what iptables-restore leaves, to
 * the byte of every rule, and `iptables -t nat -S` and `iptables-save` must print Docker's
 * rules as they do. Each input runs once through the worker's batch and once through
 * iptables-restore in a twin namespace made the same way.
 */
import { execFileSync, spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import { describeWith } from './helpers/env';
import { MACHINE_NAMESPACE, runInNamespaces, useNamespaceWorker } from '../emu/nsworker';
import * as nftables from '../emu/nftables';
import { iptablesSendsNatBatch, natBatch, versionSpeaksBatch } from '../emu/nftables';
import { EmuBackend } from '../emu/backend';
import { Model } from '../sim/model/model';
import type { PlanOp } from '../sim/plan/ops';
import { parseScenario } from '../sim/scenario/load';
import { setupEach } from '../emu/exec';
import { restoreScript } from '../emu/translate';

const inNs = (netns: string, ...argv: string[]) => execFileSync('ip', ['netns', 'exec', netns, ...argv], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** What iptables-restore itself does with the input in a namespace. */
function byRestore(netns: string, input: string): { code: number; output: string } {
  const r = spawnSync('ip', ['netns', 'exec', netns, 'iptables-restore', '--noflush'], { input, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  return { code: r.status ?? 1, output: r.stdout + r.stderr };
}

/**
 * Everything the rules made, as iptables and nft print it: the rules, and the kernel's own
 * dump of each rule's expressions and of the chains (their handles and the save's date cut).
 */
function state(netns: string): string {
  const save = inNs(netns, 'iptables-save').replace(/^#.*\n/gm, '');
  return [inNs(netns, 'iptables', '-t', 'nat', '-S'), save, inNs(netns, 'nft', '--debug=netlink', 'list', 'ruleset')].join('\n');
}

/** Docker's commands in a sandbox (sim/model/firewall.ts), in plan order, for the resolver's two ports. */
function dockerDns(udp: number, tcp: number): string[][] {
  const nat = (...args: string[]) => ['-t', 'nat', ...args];
  return [
    nat('-N', 'DOCKER_OUTPUT'),
    nat('-I', 'OUTPUT', '-d', '127.0.0.11', '-j', 'DOCKER_OUTPUT'),
    nat('-N', 'DOCKER_POSTROUTING'),
    nat('-I', 'POSTROUTING', '-d', '127.0.0.11', '-j', 'DOCKER_POSTROUTING'),
    nat('-I', 'DOCKER_OUTPUT', '-d', '127.0.0.11', '-p', 'udp', '--dport', '53', '-j', 'DNAT', '--to-destination', `127.0.0.11:${udp}`),
    nat('-I', 'DOCKER_POSTROUTING', '-s', '127.0.0.11', '-p', 'udp', '--sport', String(udp), '-j', 'SNAT', '--to-source', ':53'),
    nat('-I', 'DOCKER_OUTPUT', '-d', '127.0.0.11', '-p', 'tcp', '--dport', '53', '-j', 'DNAT', '--to-destination', `127.0.0.11:${tcp}`),
    nat('-I', 'DOCKER_POSTROUTING', '-s', '127.0.0.11', '-p', 'tcp', '--sport', String(tcp), '-j', 'SNAT', '--to-source', ':53'),
  ];
}

test('only the line shapes Docker writes in a sandbox become a batch; any other input is left to iptables-restore', () => {
  expect(natBatch(restoreScript(dockerDns(48186, 36026)))).toBeInstanceOf(Buffer);
  const others = [
    '*filter\n-N DOCKER_OUTPUT\nCOMMIT\n',
    '*nat\n-A OUTPUT -d 127.0.0.11 -j DOCKER_OUTPUT\nCOMMIT\n',
    '*nat\n-I OUTPUT -d 127.0.0.11/8 -j DOCKER_OUTPUT\nCOMMIT\n',
    '*nat\n-N OUTPUT\nCOMMIT\n',
    // A jump only to a chain the input made (-N) before it: not a standard target, nor a chain the input did not make.
    '*nat\n-I OUTPUT -d 127.0.0.11 -j ACCEPT\nCOMMIT\n',
    '*nat\n-N DOCKER_OUTPUT\n-I OUTPUT -d 127.0.0.11 -j RETURN\nCOMMIT\n',
    '*nat\n-I POSTROUTING -d 127.0.0.11 -j MASQUERADE\nCOMMIT\n',
    '*nat\n-I OUTPUT -d 127.0.0.11 -j DOCKER_OUTPUT\nCOMMIT\n',
    '*nat\n-I OUTPUT -d 127.0.0.11 -j DOCKER_OUTPUT\n-N DOCKER_OUTPUT\nCOMMIT\n',
    '*nat\n-I DOCKER_OUTPUT -d 127.0.0.11 -p udp --dport 53 -j DNAT --to-destination 127.0.0.11:65536\nCOMMIT\n',
    '*nat\n-I DOCKER_OUTPUT -d 127.0.0.11 -p udp --dport 53 -j DNAT --to-destination 127.0.0.11\nCOMMIT\n',
    '*nat\n-I DOCKER_POSTROUTING -s 127.0.0.11 -p udp --sport 5300 -j SNAT --to-source 10.0.0.1:53\nCOMMIT\n',
    '*nat\n-I DOCKER_POSTROUTING -s 127.0.0.11 -p icmp -j SNAT --to-source :53\nCOMMIT\n',
    '*nat\n-D OUTPUT -d 127.0.0.11 -j DOCKER_OUTPUT\nCOMMIT\n',
    '*nat\n-N DOCKER_OUTPUT\nCOMMIT\n*filter\n-N DOCKER\nCOMMIT\n',
    '*nat\nCOMMIT\n',
    '',
  ];
  for (const rules of others) expect({ rules, batch: natBatch(rules) }).toEqual({ rules, batch: undefined });
});

test('only an iptables-nft (nf_tables) of 1.8.9 or newer sends the batch natBatch makes; a legacy or older one, or words not a version, make none', () => {
  const versions: [string, boolean][] = [
    ['iptables-restore v1.8.9 (nf_tables)\n', true],
    ['iptables-restore v1.8.10 (nf_tables)\n', true],
    ['iptables-restore v1.10.0 (nf_tables)\n', true],
    ['iptables-restore v2.0.0 (nf_tables)\n', true],
    ['iptables-restore v1.8.8 (nf_tables)\n', false],
    ['iptables-restore v1.8.7 (nf_tables)\n', false],
    ['iptables-restore v1.6.1\n', false],
    ['iptables-restore v1.8.9 (legacy)\n', false],
    ['iptables-restore v1.8.10 (legacy)\n', false],
    ['ip6tables-restore v1.8.9 (nf_tables)\n', false],
    ['', false],
  ];
  for (const [version, speaks] of versions) expect({ version, speaks: versionSpeaksBatch(version) }).toEqual({ version, speaks });
});

describeWith(['ip', 'iptables-restore', 'iptables-save', 'nft', 'perl'], true, "namespace worker's nf_tables batch (real kernel)", () => {
  const prefix = `cnm${randomBytes(3).toString('hex')}`;
  const worker = `${prefix}.nfworker`, twin = `${prefix}.nftwin`;
  let release: () => Promise<void>;

  const fresh = () => {
    for (const n of [worker, twin]) {
      spawnSync('ip', ['netns', 'del', n]);
      execFileSync('ip', ['netns', 'add', n]);
    }
  };

  beforeAll(() => {
    release = useNamespaceWorker();
  });
  afterAll(async () => {
    await release();
    for (const n of [worker, twin]) spawnSync('ip', ['netns', 'del', n]);
  });

  test("this machine's iptables-restore is judged by its own --version (an iptables-nft 1.8.9 or newer sends the batch's objects)", async () => {
    expect(await iptablesSendsNatBatch()).toBe(versionSpeaksBatch(execFileSync('iptables-restore', ['--version'], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } })));
  });

  test("a sandbox's DNS rules: what iptables-restore leaves, rule for rule and expression for expression, with no program started", async () => {
    if (!(await iptablesSendsNatBatch())) return;
    for (const [udp, tcp] of [[48186, 36026], [1, 65535]]) {
      fresh();
      const rules = restoreScript(dockerDns(udp, tcp));
      const [r] = await runInNamespaces([{ netns: worker, nftables: natBatch(rules)! }]);
      expect(r).toEqual({ code: 0, output: '', inProcess: true });
      expect(byRestore(twin, rules)).toEqual({ code: 0, output: '' });
      expect(state(worker)).toBe(state(twin));
      expect(inNs(worker, 'iptables', '-t', 'nat', '-S')).toContain(`-A DOCKER_OUTPUT -d 127.0.0.11/32 -p udp -m udp --dport 53 -j DNAT --to-destination 127.0.0.11:${udp}\n`);
      expect(inNs(worker, 'iptables', '-t', 'nat', '-S')).toContain(`-A DOCKER_POSTROUTING -s 127.0.0.11/32 -p tcp -m tcp --sport ${tcp} -j SNAT --to-source :53\n`);
    }
  });

  test('a namespace that has a nat table already takes no part of the batch: setup falls back to iptables-restore, which says what fails', async () => {
    if (!(await iptablesSendsNatBatch())) return;
    fresh();
    const rules = restoreScript(dockerDns(48186, 36026));
    // A nat table with a rule of its own in OUTPUT, which iptables-restore reads before it writes.
    for (const n of [worker, twin]) inNs(n, 'iptables', '-t', 'nat', '-A', 'OUTPUT', '-d', '192.0.2.1', '-j', 'RETURN');
    const before = state(worker);
    const [r] = await runInNamespaces([{ netns: worker, nftables: natBatch(rules)! }]);
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/File exists/);
    expect(state(worker)).toBe(before);
    await setupEach([{ netns: worker, sysctls: [], rules }]);
    // The twin is refused the batch as often: an aborted batch still used up handles (the kernel does not give them back).
    await runInNamespaces([{ netns: twin, nftables: natBatch(rules)! }, { netns: twin, nftables: natBatch(rules)! }]);
    expect(byRestore(twin, rules)).toEqual({ code: 0, output: '' });
    expect(state(worker)).toBe(state(twin));
    // Again: the chains exist, and iptables-restore's words are the failure's.
    const again = byRestore(twin, rules);
    expect(again.code).not.toBe(0);
    await expect(setupEach([{ netns: worker, sysctls: [], rules }])).rejects.toThrow(again.output.trim());
  });

  test("no batch in the machine's namespace, nor in a namespace not named as emu's", async () => {
    const batch = natBatch(restoreScript(dockerDns(48186, 36026)))!;
    const [machine, foreign] = await runInNamespaces([{ netns: MACHINE_NAMESPACE, nftables: batch }, { netns: 'notcnm', nftables: batch }]);
    expect(machine.code).toBe(126);
    expect(foreign).toMatchObject({ code: 126, output: 'refusing namespace notcnm\n' });
  });
});

describeWith(['ip', 'iptables-restore'], true, "emu run's question to iptables-restore (real kernel)", () => {
  test('iptables-restore --version is asked once a step has rules to set: not when a run starts, nor for a step with none or with deletions only', async () => {
    const ask = jest.spyOn(nftables, 'iptablesSendsNatBatch');
    const s = parseScenario('rules.yaml', 'name: rules\nhosts:\n  r0: {}\nsteps:\n  - r0: docker network ls\n');
    const backend = await EmuBackend.create(s, { quiet: true });
    try {
      expect(ask).not.toHaveBeenCalled();
      const model = new Model(s.hosts, 1);
      const boot = model.boot();
      await backend.apply(boot.filter((o) => o.op !== 'iptables'), model.world);
      await backend.settle();
      expect(ask).not.toHaveBeenCalled();
      const rules = boot.filter((o): o is Extract<PlanOp, { op: 'iptables' }> => o.op === 'iptables');
      await backend.apply(rules, model.world);
      await backend.settle();
      expect(ask).toHaveBeenCalled();
      // A step whose only rules delete sets none: restoreTolerant needs no answer.
      ask.mockClear();
      const appended = rules.filter((o) => o.args.includes('-A')).pop()!;
      await backend.apply([{ ...appended, args: appended.args.map((a) => (a === '-A' ? '-D' : a)) }], model.world);
      await backend.settle();
      expect(ask).not.toHaveBeenCalled();
    } finally {
      await backend.close();
      ask.mockRestore();
    }
  });

  test("a step whose devices fail and whose rule deletions fail too says both: the deletions' failure is not lost behind the step's", async () => {
    const s = parseScenario('rules.yaml', 'name: rules\nhosts:\n  r0: {}\nsteps:\n  - r0: docker network ls\n');
    const backend = await EmuBackend.create(s, { quiet: true });
    try {
      const model = new Model(s.hosts, 1);
      const boot = model.boot();
      await backend.apply(boot, model.world);
      await backend.settle();
      const { host, netns } = boot.find((o): o is Extract<PlanOp, { op: 'iptables' }> => o.op === 'iptables')!;
      // restoreTolerant forgives a deletion that finds nothing, not the line after it that names no chain.
      const failing: PlanOp[] = [
        { op: 'iptables', host, netns, args: ['-D', 'FORWARD', '-j', 'ACCEPT'] },
        { op: 'iptables', host, netns, args: ['-A', 'CNMLAB-NO-SUCH-CHAIN', '-j', 'ACCEPT'] },
        { op: 'link.set', host, netns, name: 'cnmlab-no-such-device', up: true },
      ];
      // The step's work runs in the background: its failure is the next wait's.
      const failed = await backend.apply(failing, model.world).then(() => backend.settle()).then(() => undefined, (e: Error) => e.message);
      expect(failed).toMatch(/cnmlab-no-such-device[\s\S]*\n\(and deleting rules failed: iptables-restore in \S+: [\s\S]*CNMLAB-NO-SUCH-CHAIN/);
    } finally {
      await backend.close();
    }
  });
});
