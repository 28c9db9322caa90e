import * as fs from 'fs';
import { checkOutputFile, writeOutputFile } from '../output';
import { buildReport } from '../../viz/report';
import { loadScenario } from '../../sim/scenario/load';
import { runScenario } from '../../sim/runner/runner';
import { makeBackend } from './run';
import { InputError } from '../../sim/errors';
import { traceProblem } from '../../sim/trace/validate';
import { Trace } from '../../sim/trace/types';
import { COMPARE_FORMAT, CompareBundle } from '../../sim/compare/table';

/** Reads a trace file, checking it against the schema; bad input is a one-line error. */
export function readTrace(file: string): Trace {
  const doc = readJson(file);
  const problem = traceProblem(doc);
  if (problem) throw new InputError(`${file}: not a cnmlab-trace/1 trace (${problem})`);
  return doc as Trace;
}

/** A trace, or a comparison's bundle of them (`cnmlab compare --trace`), each trace checked. */
function readTraceOrBundle(file: string): Trace | CompareBundle {
  const doc = readJson(file);
  if (typeof doc === 'object' && doc !== null && (doc as { format?: unknown }).format === COMPARE_FORMAT) {
    const runs = (doc as { runs?: unknown }).runs;
    if (!Array.isArray(runs) || runs.length === 0) throw new InputError(`${file}: a ${COMPARE_FORMAT} bundle needs runs`);
    for (const [i, r] of runs.entries()) {
      const problem = traceProblem((r as { trace?: unknown })?.trace);
      if (problem || typeof (r as { driver?: unknown }).driver !== 'string') throw new InputError(`${file}: runs[${i}] is not a driver's run with a cnmlab-trace/1 trace (${problem ?? 'no driver'})`);
    }
    return doc as CompareBundle;
  }
  const problem = traceProblem(doc);
  if (problem) throw new InputError(`${file}: not a cnmlab-trace/1 trace or ${COMPARE_FORMAT} bundle (${problem})`);
  return doc as Trace;
}

function readJson(file: string): unknown {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${file}: ${code === 'ENOENT' ? 'no such file' : code ? (e as Error).message : `not JSON (${(e as Error).message})`}`);
  }
  return doc;
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
  const doc = /\.ya?ml$/i.test(input) ? await traceOf(input) : readTraceOrBundle(input);
  writeOutputFile('-o', opts.output, buildReport(doc));
  const traces = 'runs' in doc ? doc.runs.map((r) => r.trace) : [doc];
  const flows = traces.reduce((a, t) => a + t.flows.length, 0), hops = traces.reduce((a, t) => a + t.flows.reduce((b, f) => b + f.hops.length, 0), 0);
  process.stderr.write(`cnmlab: wrote ${opts.output} (${'runs' in doc ? `${doc.runs.length} driver tab(s), ` : ''}${flows} flow(s), ${hops} hops)\n`);
  return 0;
}
