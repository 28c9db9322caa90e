/**
 * The datapath's hot path is tuned for speed (the flood benchmark); tuning must not change
 * what it does. A flood over the seed lab, long enough for dockerd's control plane to send
 * in the middle of it and for the flow to pass the hops it keeps, after a ping by name (the
 * embedded DNS, through the container's NAT), must make the very hops and capture bytes the
 * datapath made before the tuning: their digests are pinned here.
 */
import { createHash } from 'crypto';
import { runLab } from './helpers/run';
import { Hop } from '../sim/trace/types';
import { containerNamed } from './helpers/world';

/** A hop without its decoded layers (the captures hold the bytes). */
function hopSummary(h: Hop): unknown[] {
  return [h.step, h.dir, h.host, h.netns, h.device, h.actor, h.event, h.timeNs, h.note, h.reason];
}

test('a flood makes the same hops, counts and capture bytes as before the hot path was tuned', async () => {
  const { backend, model } = await runLab('overlay-standalone');
  const c = containerNamed(model.world, 'r0', 'ubuntu0');
  const exec = (argv: string[]) => backend.execSync('r0', c.sandbox, argv, { world: model.world, container: c.id, namesVisible: false });
  backend.datapath.pcaps = new Map();
  expect(exec(['ping', '-c', '2', 'ubuntu1']).stdout).toContain('2 received');
  expect(exec(['ping', '-f', '-q', '-c', '20000', '10.0.1.4']).stdout).toContain('20000 received');
  const flows = [...backend.datapath.flows, ...backend.controlFlows()];
  // The flood's flow outgrows what a flow keeps, and dockerd's traffic happened during it.
  expect(flows.some((f) => (f.hopsNotKept ?? 0) > 0)).toBe(true);
  expect(backend.controlFlows().length).toBeGreaterThan(0);
  const trace = createHash('sha256');
  for (const f of flows) trace.update(JSON.stringify([f.id, f.kind, f.from, f.to, f.path, f.control, f.hopsNotKept, f.hops.map(hopSummary)]));
  const pcaps = createHash('sha256');
  for (const key of [...backend.datapath.pcaps.keys()].sort()) pcaps.update(key).update(backend.datapath.pcaps.get(key)!.toBuffer());
  expect({ hops: backend.datapath.hopCount, trace: trace.digest('hex'), pcaps: pcaps.digest('hex') }).toEqual({
    hops: 360366,
    trace: '36dbbb0e3e022d7a882e28cee38bf716d4700c735fc589940caca6a222517ad9',
    pcaps: '90f90e11b2d64ab33927066fa58d4f4021a10536112b1dfae213ec3aa3c23dd9',
  });
}, 60_000);
