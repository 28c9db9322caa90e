/**
 * What bounds a step, the same in both modes: a timeout (virtual time in sim, the clock in
 * emu) and a cap on what it may print. A step that hits either is stopped, and says so on
 * one line of stderr with an exit code of its own, so `verify` can tell it from a real failure.
 */
import type { CommandOutput, StepBounds, StepEnd } from '../backend';

/** Seconds a step may run when neither the scenario nor the step sets `timeout:`. */
export const DEFAULT_STEP_TIMEOUT_S = 30;
/** Bytes a step may write on stdout, and again on stderr: a flood without -q fits many times over. */
export const OUTPUT_CAP_BYTES = 1 << 20;
/** A step that did not end within its timeout; coreutils' `timeout` exits with the same code. */
export const EXIT_TIMED_OUT = 124;
/** A step stopped at the output cap: 128 + SIGPIPE, as a shell reports `cmd | head -c N`. */
export const EXIT_OUTPUT_CUT = 141;

export function stepBounds(line: string, timeoutS = DEFAULT_STEP_TIMEOUT_S): StepBounds {
  return { timeoutNs: timeoutS * 1e9, outputCap: OUTPUT_CAP_BYTES, line };
}

function seconds(ns: number): string {
  return `${Number((ns / 1e9).toFixed(3))} s`;
}

export function timedOutLine(b: StepBounds): string {
  return `cnmlab: timed out after ${seconds(b.timeoutNs)}, its processes killed: ${b.line}\n`;
}

export function outputCutLine(b: StepBounds): string {
  return `cnmlab: output cut at ${b.outputCap} bytes, its processes killed: ${b.line}\n`;
}

/** Cuts text (as UTF-8 bytes) to at most `cap` bytes; true when it was longer. */
export function cutText(text: string, cap: number): [string, boolean] {
  if (text.length <= cap / 4) return [text, false];
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= cap) return [text, false];
  return [bytes.subarray(0, cap).toString('utf8'), true];
}

/**
 * The output a step shows once bounded: what the program printed (each stream cut at the
 * cap), then the report line; `end` says why it was stopped, if it was.
 */
export function endedOutput(out: CommandOutput, b: StepBounds, end: StepEnd | undefined): CommandOutput & { end?: StepEnd } {
  const [stdout, cutOut] = cutText(out.stdout, b.outputCap);
  const [stderr, cutErr] = cutText(out.stderr, b.outputCap);
  const why = end ?? (cutOut || cutErr ? 'output-cut' : undefined);
  if (!why) return out;
  if (why === 'timed-out') return { stdout, stderr: stderr + timedOutLine(b), exitCode: EXIT_TIMED_OUT, end: why };
  return { stdout, stderr: stderr + outputCutLine(b), exitCode: EXIT_OUTPUT_CUT, end: why };
}
