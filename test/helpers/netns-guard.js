/**
 * jest's globalSetup and globalTeardown: the suite as a whole leaves no network namespace it
 * made. Each test file removes its own; a teardown that silently did nothing (a refused
 * `ip netns del`) shows here, naming what was left, and fails the run. Other programs'
 * namespaces made meanwhile would count too, so it watches only names of cnmlab's form
 * (`cnm…`, which runs and fixtures use), and it gives a namespace that is still there a
 * while to go: another checkout's suite running beside this one (as on a shared developer
 * machine) removes its namespaces when its own runs end, a leak stays.
 */
const { execFileSync } = require('child_process');

const ours = () => {
  try {
    return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith('cnm'));
  } catch {
    return undefined;
  }
};

module.exports.setup = () => {
  globalThis.cnmlabNamespacesBefore = process.getuid?.() === 0 ? ours() : undefined;
};

const GRACE_MS = 30_000;
const POLL_MS = 1_000;

module.exports.teardown = async () => {
  const before = globalThis.cnmlabNamespacesBefore;
  if (before === undefined) return;
  const leftNow = () => (ours() ?? []).filter((n) => !before.includes(n));
  let left = leftNow();
  for (const deadline = Date.now() + GRACE_MS; left.length && Date.now() < deadline; left = leftNow()) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  if (left.length) throw new Error(`the suite left ${left.length} network namespace(s) behind: ${left.join(' ')}`);
};
