import * as fs from 'fs';
import { checkOutputFile, writeOutputFile } from '../output';
import { buildReport } from '../../viz/report';
import { loadScenario } from '../../sim/scenario/load';
import { runScenario } from '../../sim/runner/runner';
import { makeBackend } from './run';
import { InputError } from '../../sim/errors';
import { traceProblem } from '../../sim/trace/validate';
import { Trace } from '../../sim/trace/types';

/** Reads a trace file, checking it against the schema; bad input is a one-line error. */
export function readTrace(file: string): Trace {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${file}: ${code === 'ENOENT' ? 'no such file' : code ? (e as Error).message : `not JSON (${(e as Error).message})`}`);
  }
  const problem = traceProblem(doc);
  if (problem) throw new InputError(`${file}: not a cnmlab-trace/1 trace (${problem})`);
  return doc as Trace;
}

export async function traceOf(input: string): Promise<Trace> {
  if (/\.ya?ml$/i.test(input)) {
    const s = loadScenario(input);
    const backend = await makeBackend('sim', s, {});
    const { result } = await runScenario(s, backend);
    return JSON.parse(JSON.stringify(result.trace));
  }
  return readTrace(input);
}

export async function vizCommand(input: string, opts: { output: string }): Promise<number> {
  checkOutputFile('-o', opts.output);
  const trace = await traceOf(input);
  writeOutputFile('-o', opts.output, buildReport(trace));
  process.stderr.write(`cnmlab: wrote ${opts.output} (${trace.flows.length} flow(s), ${trace.flows.reduce((a, f) => a + f.hops.length, 0)} hops)\n`);
  return 0;
}
