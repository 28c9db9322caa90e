/**
 * `cnmlab explain` steps through the scenario as `run` does (the same session: the gap between
 * steps, NetworkDB's timers, the scenario's seed and delays), so the kernel it explains is the
 * one run builds: the embedded DNS server's ports it prints are the ones run's queries reach.
 */
import * as path from 'path';
import { cnmlab } from './helpers/tshark';

const SCENARIO = path.join(__dirname, '..', 'scenarios', 'bridge-then-overlay.yaml');

test("explain's embedded DNS ports are the ones run's DNS queries go to", () => {
  const run = cnmlab(['run', SCENARIO, '--mode', 'sim']);
  expect(run.status).toBe(0);
  // A query to 127.0.0.11 in a hop table: `udp SPORT > DPORT | dns query NAME`, DPORT dockerd's port behind the DNAT.
  const queried = new Set([...run.stdout.matchAll(/udp \d+ > (\d+) \| dns query /g)].map((m) => m[1]));
  expect(queried.size).toBeGreaterThan(0);
  const explain = cnmlab(['explain', SCENARIO]);
  expect(explain.stderr).toBe('');
  const bound = new Set([...explain.stdout.matchAll(/dockerd binds udp 127\.0\.0\.11:(\d+)/g)].map((m) => m[1]));
  for (const port of queried) expect(bound).toContain(port);
});
