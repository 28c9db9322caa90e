/**
 * jest's globalSetup and globalTeardown: the suite as a whole leaves no network namespace it
 * made. Each test file removes its own; a teardown that silently did nothing (a refused
 * `ip netns del`) shows here, naming what was left, and fails the run. Other programs'
 * namespaces made meanwhile would count too, so it watches only names of cnmlab's form
 * (`cnm…`, which runs and fixtures use).
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

module.exports.teardown = () => {
  const before = globalThis.cnmlabNamespacesBefore;
  if (before === undefined) return;
  const left = (ours() ?? []).filter((n) => !before.includes(n));
  if (left.length) throw new Error(`the suite left ${left.length} network namespace(s) behind: ${left.join(' ')}`);
};
