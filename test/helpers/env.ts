/**
 * Tests that need root, network namespaces or capture tools skip with a stated reason on a
 * developer's machine; under CNMLAB_REQUIRE_EMU=1 (CI) a missing prerequisite fails instead.
 */
import { execFileSync } from 'child_process';
import * as path from 'path';
import { kernelHas } from '../../emu/features';
import type { KernelFeature } from '../../sim/model/drivers/driver';

export const REQUIRE_EMU = process.env.CNMLAB_REQUIRE_EMU === '1';
export const REPO = path.resolve(__dirname, '..', '..');

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why the given tools cannot be used here, or undefined when they can. */
export function missing(tools: string[], needRoot: boolean): string | undefined {
  if (needRoot && process.getuid?.() !== 0) return 'needs root';
  const absent = tools.filter((t) => !hasCommand(t));
  return absent.length ? `needs ${absent.join(', ')}` : undefined;
}

/**
 * describe() that skips (or, under CNMLAB_REQUIRE_EMU=1, fails) when prerequisites are absent.
 * A kernel feature it needs (probed as emu probes it, emu/features.ts) is a fact about this
 * machine, not a prerequisite to install: without it the tests skip, naming it, even in CI.
 */
export function describeWith(tools: string[], needRoot: boolean, name: string, body: () => void, kernel: KernelFeature[] = []): void {
  const reason = missing(tools, needRoot);
  const lacking = reason ? [] : kernel.filter((f) => !kernelHas(f));
  if (lacking.length) return describe.skip(`${name} (skipped: this kernel cannot make ${lacking.map((f) => `${f.what} (${f.config})`).join(', ')})`, body);
  if (!reason) return describe(name, body);
  if (REQUIRE_EMU) {
    describe(name, () => {
      test('prerequisites', () => {
        throw new Error(`${name}: ${reason} (CNMLAB_REQUIRE_EMU=1)`);
      });
    });
  } else {
    describe.skip(`${name} (skipped: ${reason})`, body);
  }
}
