/** `npm run bench`: every benchmark of the issues' speed goals, printed as a table (and JSON with --json). */
// The drivers that register themselves, as the CLI registers them: the in-process benchmarks run the model and the sim kernel.
import '../../sim/drivers';
import { benchDecode } from './decode.bench';
import { benchModel } from './model.bench';
import { benchFlood } from './flood.bench';
import { benchEmu } from './emu.bench';
import { benchCold } from './cold.bench';
import { benchEmuCold } from './emu-cold.bench';
import { spawnSync } from 'child_process';
import { BenchResult } from './result';

const BENCHES: Record<string, () => Promise<BenchResult[]>> = {
  decode: () => benchDecode(),
  model: () => benchModel(),
  flood: () => benchFlood(),
  emu: () => benchEmu(),
  cold: () => benchCold(),
  'emu-cold': () => benchEmuCold(),
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const only = args.filter((a) => !a.startsWith('--'));
  if (only.length === 0) {
    // Each benchmark in a fresh process, so one's heap does not weigh on the next.
    for (const name of Object.keys(BENCHES)) {
      const r = spawnSync(process.execPath, [process.argv[1], name, ...(json ? ['--json'] : [])], { stdio: 'inherit' });
      if (r.status !== 0) process.exitCode = r.status ?? 1;
    }
    return;
  }
  const results: BenchResult[] = [];
  for (const [name, run] of Object.entries(BENCHES)) {
    if (only.length && !only.includes(name)) continue;
    if (!json) process.stderr.write(`running ${name}…\n`);
    for (const r of await run()) {
      results.push(r);
      if (!json) console.log(`${r.name.padEnd(70)} ${(r.failed ? 'FAILED' : String(r.value)).padStart(12)} ${r.unit}${r.goal ? `   (goal ${r.goal})` : ''}`);
    }
  }
  if (json) console.log(JSON.stringify(results, null, 2));
  // Every row was printed; a failed one still fails the bench.
  if (results.some((r) => r.failed)) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
