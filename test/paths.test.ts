/**
 * The overlay's path model: every step is reachable from some sighting at a device, the
 * verdicts and drop points name its steps, and the sim trace's hop notes are the model's.
 */
import { ACROSS_HOSTS, DROP_STEP, FIRST_STEP, LAST_STEP, OFF_HOST, OVERLAY_STEP, OVERLAY_STEPS, overlayNotes, PathRole, placeOnOverlay, RESOLVE_STEP, Sighting, stepAfter, WITHIN_HOST } from '../sim/trace/paths/overlay';
import { runScenario } from '../sim/runner/runner';
import { SimBackend } from '../sim/kernel/backend';
import { loadScenario, parseScenario } from '../sim/scenario/load';
import { seedFromName } from '../sim/model/ids';
import * as path from 'path';
import { REPO } from './helpers/env';

const ROLES: PathRole[] = ['lo', 'container', 'bridge-port', 'vxlan', 'uplink', 'segment'];
const FRAMES: Sighting['frame'][] = ['ip', 'arp-request', 'arp-reply', 'dns-query', 'dns-answer'];

describe('the overlay path model', () => {
  test('a ping across hosts, sighting by sighting, is steps 1–8 in order with the events sim and emu record', () => {
    const sightings: Sighting[] = [
      { role: 'container', way: 'out', frame: 'ip' }, { role: 'bridge-port', way: 'out', frame: 'ip' }, { role: 'vxlan', way: 'out', frame: 'ip' },
      { role: 'uplink', way: 'out', frame: 'ip', encapsulated: true }, { role: 'segment', way: 'out', frame: 'ip', encapsulated: true },
      { role: 'uplink', way: 'in', frame: 'ip', encapsulated: true }, { role: 'vxlan', way: 'in', frame: 'ip' }, { role: 'bridge-port', way: 'in', frame: 'ip' },
      { role: 'container', way: 'in', frame: 'ip' },
    ];
    expect(sightings.map((s) => placeOnOverlay(s))).toEqual([
      { step: 1, event: 'send' }, { step: 2, event: 'veth-cross' }, { step: 3, event: 'bridge-forward' }, { step: 4, event: 'encap' }, { step: 5, event: 'underlay' },
      { step: 6, event: 'udp-deliver' }, { step: 7, event: 'decap' }, { step: 8, event: 'bridge-forward' }, { step: 8, event: 'deliver' },
    ]);
  });

  test('every step is some sighting\'s, and nothing off the path is placed on it', () => {
    const reached = new Set<number>();
    for (const role of ROLES) for (const way of ['out', 'in'] as const) for (const frame of FRAMES) for (const encapsulated of [false, true]) {
      const at = placeOnOverlay({ role, way, frame, encapsulated });
      if (at) reached.add(at.step);
    }
    expect([...reached].sort()).toEqual(OVERLAY_STEPS.map((s) => s.step));
    expect(placeOnOverlay({ role: 'uplink', way: 'out', frame: 'ip' })).toBeUndefined();
    expect(placeOnOverlay({ role: 'lo', way: 'out', frame: 'ip' })).toBeUndefined();
    expect(placeOnOverlay({ role: 'vxlan', way: 'in', frame: 'arp-reply', proxied: true })).toEqual({ step: OVERLAY_STEP.bridge, event: 'arp-proxy-reply' });
  });

  test('verdict sequences, drop points and the step after each are the model\'s own steps', () => {
    expect(ACROSS_HOSTS[0]).toBe(FIRST_STEP);
    expect(ACROSS_HOSTS[ACROSS_HOSTS.length - 1]).toBe(LAST_STEP);
    for (const s of [...WITHIN_HOST, ...OFF_HOST, ...Object.values(DROP_STEP)]) expect(ACROSS_HOSTS).toContain(s);
    expect(ACROSS_HOSTS.map(stepAfter)).toEqual([...ACROSS_HOSTS.slice(1), undefined]);
    expect(RESOLVE_STEP).toBe(OVERLAY_STEPS[0].step);
  });

  test('drop-at in a scenario is bounded by the model\'s steps', () => {
    const yaml = (at: number) => `name: x\nhosts:\n  r0: {}\nsteps:\n  - r0: docker ps\n    expect: { path: none, drop-at: ${at} }\n`;
    expect(() => parseScenario('x.yaml', yaml(LAST_STEP))).not.toThrow();
    expect(() => parseScenario('x.yaml', yaml(LAST_STEP + 1))).toThrow();
  });

  test('the sim trace\'s notes are the model\'s wording', async () => {
    const s = loadScenario(path.join(REPO, 'scenarios', 'overlay-standalone.yaml'));
    const backend = new SimBackend(s.seed ?? seedFromName(s.name));
    const { result } = await runScenario(s, backend);
    const hops = result.trace.flows.find((f) => f.kind === 'icmp-echo')!.hops;
    const encap = hops.find((h) => h.step === OVERLAY_STEP.encap)!;
    const inner = encap.layers.filter((l) => l.proto === 'eth').pop()!;
    const outer = encap.layers.find((l) => l.proto === 'ip')!;
    expect(encap.note).toBe(overlayNotes.encap(inner['eth.dst'] as string, outer['ip.dst'] as string));
    const udp = hops.find((h) => h.step === OVERLAY_STEP.udpDeliver)!;
    const vni = udp.layers.find((l) => l.proto === 'vxlan')!['vxlan.vni'] as number;
    expect(udp.note).toBe(overlayNotes.udpDeliver(4789, 'vxlan0', vni, hops.find((h) => h.step === OVERLAY_STEP.decap && h.host === udp.host)!.netns));
  });
});
