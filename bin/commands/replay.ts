import * as readline from 'readline';
import { replayCaptures, CapturePointKind } from '../../sim/trace/replay';
import { Trace } from '../../sim/trace/types';
import { pathTable } from '../../sim/trace/table';
import { CaptureError } from '../../sim/pcap/reader';
import { InputError } from '../../sim/errors';
import { readTrace } from './viz';
import { BufferedOut, checkOutputFile, writeOutputFile } from '../output';

export interface ReplayOptions {
  json?: boolean;
  trace?: string;
  point?: CapturePointKind;
  step?: boolean;
}

function layerLines(h: Trace['flows'][number]['hops'][number]): string[] {
  return h.layers.map((l, i) => `      ${'  '.repeat(i)}${l.proto}: ${Object.entries(l).filter(([k]) => k !== 'proto').map(([k, v]) => `${k.split('.').slice(1).join('.')}=${Array.isArray(v) ? v.join(',') : v}`).join(' ')}`);
}

async function retell(trace: Trace, stepByStep: boolean): Promise<void> {
  const interactive = stepByStep && process.stdin.isTTY;
  const rl = interactive ? readline.createInterface({ input: process.stdin, output: process.stdout }) : undefined;
  const out = new BufferedOut();
  try {
    await out.write(`${trace.scenario} (${trace.mode}): ${trace.flows.length} flow(s)\n\n`);
    for (const flow of trace.flows) {
      await out.write(pathTable(flow, true) + '\n');
      for (const [i, h] of flow.hops.entries()) {
        await out.write(`  hop ${i + 1}: step ${h.step ?? '-'} ${h.dir} ${h.host} ${h.netns}/${h.device} ${h.event}${h.reason ? ` — ${h.reason}` : h.note ? ` — ${h.note}` : ''}\n${layerLines(h).join('\n')}\n`);
        if (rl) {
          await out.flush();
          await new Promise<void>((resolve) => rl.question('  [Enter] next hop ', () => resolve()));
        }
      }
      if (flow.hopsNotKept) await out.write(`  … and ${flow.hopsNotKept} more hops, counted but not kept\n`);
      await out.write('\n');
    }
    await out.flush();
  } finally {
    rl?.close();
  }
}

export async function replayCommand(inputs: string[], opts: ReplayOptions): Promise<number> {
  if (opts.point && !['container', 'overlay', 'underlay'].includes(opts.point)) throw new InputError(`--point: expected container, overlay or underlay, got ${opts.point}`);
  if (opts.trace) checkOutputFile('--trace', opts.trace);
  let trace: Trace;
  if (inputs.length === 1 && /\.json$/i.test(inputs[0])) {
    trace = readTrace(inputs[0]);
  } else {
    try {
      const r = await replayCaptures(inputs.map((file) => ({ file, point: opts.point })), inputs.map((f) => f.split('/').pop()).join('+'));
      trace = r.trace;
      for (const w of r.warnings) process.stderr.write(`cnmlab: ${w}\n`);
    } catch (e) {
      if (e instanceof CaptureError) throw new InputError(`${inputs.join(', ')}: ${e.message}`);
      throw e;
    }
  }
  if (opts.trace) writeOutputFile('--trace', opts.trace, JSON.stringify(trace, null, 2) + '\n');
  if (opts.json) process.stdout.write(JSON.stringify(trace, null, 2) + '\n');
  else await retell(trace, !!opts.step);
  return 0;
}
