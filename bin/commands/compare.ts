/**
 * `cnmlab compare [FILE] --drivers …`: the same two containers on two hosts and the same
 * ping, once per driver, side by side. FILE lends its first two hosts (names, underlay
 * addresses) and its seed; without it the built-in lab's r0 and r1 do.
 */
import { loadScenario } from '../../sim/scenario/load';
import { DEFAULT_UNDERLAY_BASE } from '../../sim/scenario/load';
import { InputError, KernelFeatureMissing } from '../../sim/errors';
import { partsFor } from '../../sim/compare';
import { CompareLab, compareDriver, DriverFacts, partScenario, unavailableDriver } from '../../sim/compare/measure';
import { compareBundle, compareTable } from '../../sim/compare/table';
import { pathTable } from '../../sim/trace/table';
import { ipv4ToNumber, numberToIpv4 } from '../../sim/wire/addr';
import { checkOutputFile, writeOutputFile } from '../output';
import { makeBackend } from './run';

export interface CompareOptions {
  drivers: string;
  mode: 'sim' | 'emu';
  json?: boolean;
  trace?: string;
}

/** The built-in lab: two hosts on the scenarios' default underlay. */
function builtInLab(): CompareLab {
  const base = ipv4ToNumber(DEFAULT_UNDERLAY_BASE);
  return { file: '<built-in two-host lab>', name: 'compare', hosts: [{ name: 'r0', underlay: numberToIpv4(base) }, { name: 'r1', underlay: numberToIpv4(base + 1) }] };
}

function labOf(file: string): CompareLab {
  const s = loadScenario(file);
  if (s.hosts.length < 2) throw new InputError(`${file}: compare needs two hosts, the file has ${s.hosts.length}`);
  return { file, name: s.name, ...(s.seed !== undefined ? { seed: s.seed } : {}), hosts: [s.hosts[0], s.hosts[1]] };
}

export async function compareCommand(file: string | undefined, opts: CompareOptions): Promise<number> {
  const parts = partsFor(opts.drivers);
  if (typeof parts === 'string') throw new InputError(parts);
  if (opts.trace) checkOutputFile('--trace', opts.trace);
  const lab = file ? labOf(file) : builtInLab();
  const results: DriverFacts[] = [];
  for (const part of parts) {
    const scenario = partScenario(lab, part);
    let backend;
    try {
      backend = await makeBackend(opts.mode, scenario, { quiet: true });
    } catch (e) {
      // A driver this kernel cannot run in emu (Calico's IP-in-IP without CONFIG_NET_IPIP) is a fact about the machine: its row says so, the others run.
      if (!(e instanceof KernelFeatureMissing)) throw e;
      results.push(unavailableDriver(part, e.message.replace(/^[^:]*: /, '')));
      continue;
    }
    try {
      results.push(await compareDriver(lab, part, scenario, backend));
    } finally {
      await backend.close();
    }
  }
  if (opts.trace) writeOutputFile('--trace', opts.trace, JSON.stringify(compareBundle(lab, opts.mode, results), null, 2) + '\n');
  if (opts.json) {
    process.stdout.write(JSON.stringify({ lab: { file: lab.file, hosts: lab.hosts }, mode: opts.mode, drivers: results.map(({ trace: _t, flow: _f, ...facts }) => facts) }, null, 2) + '\n');
  } else {
    let out = compareTable(results);
    for (const r of results) out += `\n${r.driver}: ${r.title}\n${r.unavailable ? `  not available in this kernel: ${r.unavailable}\n` : r.ok ? '' : `  failed: ${r.failure}\n`}${r.flow ? pathTable(r.flow) : ''}`;
    process.stdout.write(out);
  }
  return results.every((r) => r.ok) ? 0 : 1;
}
