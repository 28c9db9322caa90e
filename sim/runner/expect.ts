/** Checks a step's `expect` against what happened. */
import { Expect } from '../scenario/schema';
import { compilePattern } from '../scenario/pattern';
import { classifyPath } from '../trace/path';
import { Flow } from '../trace/types';
import { NOT_MODELLED_EXIT } from '../commands/registry';

export interface Check {
  what: 'exit' | 'stdout' | 'stderr' | 'path' | 'modelled';
  expected: string;
  got: string;
  ok: boolean;
}

/** `/re/flags` is a regular expression; anything else a substring. The loader has checked the regex. */
export function matches(pattern: string, text: string): boolean {
  const p = compilePattern(pattern);
  return 'regex' in p ? p.regex.test(text) : text.includes(p.substring);
}

function excerpt(s: string): string {
  const t = s.trim();
  return t.length > 200 ? t.slice(0, 200) + '…' : t || '(empty)';
}

export function checkExpect(e: Expect, r: { exitCode: number; stdout: string; stderr: string }, flow: Flow | undefined): Check[] {
  const checks: Check[] = [];
  if (e.exit !== undefined) checks.push({ what: 'exit', expected: String(e.exit), got: String(r.exitCode), ok: e.exit === r.exitCode });
  if (e.stdout !== undefined) checks.push({ what: 'stdout', expected: e.stdout, got: excerpt(r.stdout), ok: matches(e.stdout, r.stdout) });
  if (e.stderr !== undefined) checks.push({ what: 'stderr', expected: e.stderr, got: excerpt(r.stderr), ok: matches(e.stderr, r.stderr) });
  if (e.path !== undefined) {
    const v = classifyPath(flow);
    const expected = e.path === 'none' && e['drop-at'] !== undefined ? `none (drop at step ${e['drop-at']})` : e.path;
    const got = !flow ? 'no traced flow' : v.kind === 'none' ? `none (drop at step ${v.dropAt ?? '?'})` : `${v.kind} (steps ${v.steps.join(',') || '-'})`;
    const ok = v.kind === e.path && (e.path !== 'none' || e['drop-at'] === undefined || v.dropAt === e['drop-at']);
    checks.push({ what: 'path', expected, got, ok });
  }
  return checks;
}

/** A check as the transcript shows it. */
export function checkLine(c: Check): string {
  return `${c.ok ? '✓' : '✗'} expect ${c.what}: ${c.ok ? c.expected : `expected ${c.expected}, got ${c.got}`}\n`;
}

/**
 * A step the command registry refused ran nothing, so it cannot stand for the command it
 * names: it fails unless the scenario says it expects exactly that (`exit: 127`).
 */
export function modelledCheck(command: string, e: Expect | undefined): Check {
  const expected = e?.exit === NOT_MODELLED_EXIT;
  return { what: 'modelled', expected: expected ? 'not modelled (expect exit 127)' : 'a command cnmlab models', got: `not modelled: ${command}`, ok: expected };
}
