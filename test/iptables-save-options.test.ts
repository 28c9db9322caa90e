/**
 * iptables-save 1.8.9 (nf_tables) reads its options as xtables-save.c's getopt_long loop takes
 * them (optstring "bcdt:M:f:V"), measured on this machine: -V prints its version and exits 0 at
 * once (before the generation id, so in a container without CAP_NET_ADMIN too), -M names a
 * modprobe it never needs here, -d exits 0 after a missing table, -b says it is not
 * implemented and goes on, an operand is "Unknown arguments found on commandline", and
 * getopt's own texts for an unknown option or a missing or unwanted value. -f writes the dump
 * to a file on the machine: not modelled, refused in both modes before anything runs.
 */
import * as fs from 'fs';
import { readIptablesSave } from '../sim/commands/iptables-commands';
import { describeWith } from './helpers/env';
import { expectEmuPrints, printed, PrintedStep, runSim } from './helpers/run';

const LAB = `name: iptables-save-options
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name plain ubuntu:14.04
  - r0: iptables-save -V
  - r0: iptables-save --version -t mangle
  - r0: iptables-save foo -V
  - r0: iptables-save -M /sbin/modprobe -t nat | grep -c COMMIT
  - r0: iptables-save --mod=/sbin/modprobe --dump -c -t filter | grep -c COMMIT
  - r0: iptables-save -d -t bogus
  - r0: iptables-save -t bogus
  - r0: iptables-save -b -t nat | grep -c COMMIT
  - r0: iptables-save -t nat foo
  - r0: iptables-save -M
  - r0: iptables-save --table
  - r0: iptables-save --dump=1
  - r0: iptables-save --bogus -V
  - r0: iptables-save -f /tmp/cnmlab-iptables-save.rules
  - r0: iptables-save -cf/tmp/cnmlab-iptables-save.rules
  - r0: iptables-save -x -f /tmp/cnmlab-iptables-save.rules
  - plain: iptables-save -V
  - plain: iptables-save -d
  - plain: iptables-save -b
  - plain: iptables-save --file /tmp/cnmlab-iptables-save.rules
`;

const VERSION = [0, 'iptables-save v1.8.9 (nf_tables)\n', ''];
const look = (message: string) => [1, '', `iptables-save: ${message}\nLook at manual page \`iptables-save.8' for more information.\n`];
const notModelled = (command: string) => [127, '', `cnmlab: not modelled: ${command}\n`];
const NO_GENERATION_ID = 'iptables-save v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\n';
const BINARY = '-b/--binary option is not implemented\n';

const EXPECTED = [
  VERSION, VERSION, VERSION,
  [0, '1\n', ''], [0, '1\n', ''],
  [0, '', "Table `bogus' does not exist\n"], [1, '', "Table `bogus' does not exist\n"],
  [0, '1\n', BINARY],
  [1, '', 'Unknown arguments found on commandline\n'],
  look("option requires an argument -- 'M'"), look("option '--table' requires an argument"), look("option '--dump' doesn't allow an argument"), look("unrecognized option '--bogus'"),
  notModelled('iptables-save -f /tmp/cnmlab-iptables-save.rules'), notModelled('iptables-save -cf/tmp/cnmlab-iptables-save.rules'),
  look("invalid option -- 'x'"),
  VERSION, [4, '', NO_GENERATION_ID], [4, '', BINARY + NO_GENERATION_ID],
  notModelled('iptables-save --file /tmp/cnmlab-iptables-save.rules'),
];

const view = (steps: readonly PrintedStep[]) => printed(steps.slice(1));

test('the options are read in getopt_long order, each ending the line where the real one ends it', () => {
  expect(readIptablesSave(['-t', 'nat', '-V', '--bogus'])).toEqual({ ends: 'version', stderr: '' });
  expect(readIptablesSave(['-ctnat', '-d'])).toEqual({ ends: 'dump', table: 'nat', counters: true, dump: true, stderr: '' });
  expect(readIptablesSave(['--tab', 'raw', '--co'])).toEqual({ ends: 'dump', table: 'raw', counters: true, dump: false, stderr: '' });
  expect(readIptablesSave(['-bMx', '-f', 'out'])).toEqual({ ends: 'file' });
  expect(readIptablesSave(['-b', '-'])).toEqual({ ends: 'error', stderr: `${BINARY}Unknown arguments found on commandline\n` });
});

test('sim answers each line as iptables-save 1.8.9 does', async () => {
  const { result } = await runSim(LAB);
  expect(view(result.steps)).toEqual(EXPECTED);
});

describeWith(['iptables-save'], true, 'the same lines on the real iptables-save', () => {
  test('emu prints what sim prints, and no file is written', () => {
    expectEmuPrints('iptables-save-options.yaml', LAB, EXPECTED, { view });
    expect(fs.existsSync('/tmp/cnmlab-iptables-save.rules')).toBe(false);
  }, 120000);
});
