/**
 * The path models (sim/trace/paths/): each registered model is whole (every step some
 * sighting's, verdicts and drop points on its own steps), each places the sightings of
 * its path in order with the events sim and emu record, and the sim trace's hop notes are
 * the model's wording.
 */
import { overlayNotes } from '../sim/trace/paths/notes';
import { OVERLAY_STEP, overlayPath } from '../sim/trace/paths/overlay';
import { BRIDGE_STEP, bridgePath } from '../sim/trace/paths/bridge';
import { GWBRIDGE_STEP, gwbridgePath } from '../sim/trace/paths/gwbridge';
import { CALICO_STEP, calicoPath } from '../sim/trace/paths/calico';
import { maxStep, pathOf, registeredPath, registeredPaths } from '../sim/trace/paths';
import { PathModel, PathRole, RESOLVE_STEP, Sighting } from '../sim/trace/paths/path';
import { classifyPath } from '../sim/trace/path';
import { Flow, Hop } from '../sim/trace/types';
import { runScenario } from '../sim/runner/runner';
import { SimBackend } from '../sim/kernel/backend';
import { loadScenario, parseScenario } from '../sim/scenario/load';
import { seedFromName } from '../sim/model/ids';
import schema from '../sim/trace/trace.schema.json';
import * as path from 'path';
import { REPO } from './helpers/env';

const ROLES: PathRole[] = ['lo', 'container', 'bridge-port', 'host-end', 'bridge', 'vxlan', 'tunnel', 'router', 'uplink', 'segment'];
const FRAMES: Sighting['frame'][] = ['ip', 'arp-request', 'arp-reply', 'dns-query', 'dns-answer'];

/** Every sighting a device could make, with and without each flag. */
function everySighting(): Sighting[] {
  const all: Sighting[] = [];
  for (const role of ROLES) for (const way of ['out', 'in'] as const) for (const frame of FRAMES) for (const encapsulated of [false, true]) for (const forwarded of [false, true]) {
    all.push({ role, way, frame, encapsulated, forwarded }, { role, way, frame, encapsulated, forwarded, flood: true, proxied: true }, { role, way, frame, encapsulated, forwarded, ipip: true });
  }
  return all;
}

/** A flow whose request hops are these steps and events, in order. */
function flowOf(model: PathModel, hops: [number, Hop['event']][]): Flow {
  const hop = ([step, event]: [number, Hop['event']]): Hop => ({ step, event, dir: 'request', host: 'h', netns: 'n', device: 'd', timeNs: 0, layers: [] });
  return { id: 'ping-1', kind: 'icmp-echo', from: 'a', to: 'b', path: registeredPath(model.id), hops: hops.map(hop) };
}

describe('path models', () => {
  test('the registry names each model under its own id', () => {
    for (const m of registeredPaths()) {
      expect(registeredPath(m.id)).toBe(m.id);
      expect(pathOf({ path: registeredPath(m.id) })).toBe(m);
    }
    expect(registeredPath('weave')).toBeUndefined();
    // A flow that names no path (traces before flows did, a host's own ping) is the overlay's.
    expect(pathOf({})).toBe(overlayPath);
  });

  describe.each(registeredPaths().map((m) => [m.id, m] as const))('%s', (_id, model) => {
    test('every step is some sighting\'s, and the steps run from 0 (resolve) to the last', () => {
      const reached = new Set<number>();
      for (const s of everySighting()) {
        const at = model.place(s);
        if (at) reached.add(at.step);
      }
      expect([...reached].sort((a, b) => a - b)).toEqual(model.steps.map((s) => s.step));
      expect(model.steps.map((s) => s.step)).toEqual(model.steps.map((_, i) => i));
      expect(model.steps[0]).toMatchObject({ step: RESOLVE_STEP, name: 'resolve' });
      expect(model.steps[model.steps.length - 1].step).toBe(model.last);
      expect(new Set(model.steps.map((s) => s.name)).size).toBe(model.steps.length);
    });

    test('verdicts, drop points and the step after each are the model\'s own steps', () => {
      const steps = model.steps.map((s) => s.step);
      const longest = model.verdicts[0].steps;
      expect(longest[0]).toBe(model.first);
      expect(longest[longest.length - 1]).toBe(model.last);
      for (const v of model.verdicts) for (const s of [...v.steps, ...(v.never ?? [])]) expect(steps).toContain(s);
      for (const s of Object.values(model.drops)) expect(longest).toContain(s);
      expect(longest.map((s) => model.stepAfter(s))).toEqual([...longest.slice(1), undefined]);
      for (const s of steps) {
        const point = model.dropPointAfter(s);
        if (point) expect(model.drops[point]).toBeDefined();
      }
    });

    test('a request that walks the longest way to its delivery earns the first verdict; one dropped, none at its step', () => {
      const longest = model.verdicts[0].steps;
      const walked = flowOf(model, longest.map((s) => [s, s === model.last ? 'deliver' : 'send']));
      expect(classifyPath(walked)).toEqual({ kind: model.verdicts[0].kind, steps: [...longest] });
      const dropped = flowOf(model, [[model.first, 'send'], [model.stepAfter(model.first)!, 'drop']]);
      expect(classifyPath(dropped)).toMatchObject({ kind: 'none', dropAt: model.stepAfter(model.first) });
    });

    test('the trace schema\'s step bound holds every step', () => {
      expect(model.last).toBeLessThanOrEqual(schema.definitions.hop.properties.step.maximum);
    });
  });

  test('drop-at in a scenario is bounded by the longest path\'s steps', () => {
    const yaml = (at: number) => `name: x\nhosts:\n  r0: {}\nsteps:\n  - r0: docker ps\n    expect: { path: none, drop-at: ${at} }\n`;
    expect(maxStep()).toBe(Math.max(...registeredPaths().map((m) => m.last)));
    expect(() => parseScenario('x.yaml', yaml(maxStep()))).not.toThrow();
    expect(() => parseScenario('x.yaml', yaml(maxStep() + 1))).toThrow();
  });
});

describe("Weave Net's sleeve path model", () => {
  test('a ping across hosts is steps 1–8 in order: the router captures, sends in UDP, its peer injects; a flood is the router\'s', () => {
    const sleeve = pathOf({ path: 'weave-sleeve' });
    const sightings: Sighting[] = [
      { role: 'container', way: 'out', frame: 'ip' }, { role: 'bridge-port', way: 'out', frame: 'ip' }, { role: 'router', way: 'out', frame: 'ip' },
      { role: 'uplink', way: 'out', frame: 'ip', encapsulated: true }, { role: 'segment', way: 'out', frame: 'ip', encapsulated: true },
      { role: 'uplink', way: 'in', frame: 'ip', encapsulated: true }, { role: 'router', way: 'in', frame: 'ip' }, { role: 'bridge-port', way: 'in', frame: 'ip' },
      { role: 'container', way: 'in', frame: 'ip' },
    ];
    expect(sightings.map((s) => sleeve.place(s))).toEqual([
      { step: 1, event: 'send' }, { step: 2, event: 'veth-cross' }, { step: 3, event: 'forward' }, { step: 4, event: 'encap' }, { step: 5, event: 'underlay' },
      { step: 6, event: 'udp-deliver' }, { step: 7, event: 'decap' }, { step: 8, event: 'bridge-forward' }, { step: 8, event: 'deliver' },
    ]);
    expect(sleeve.place({ role: 'router', way: 'out', frame: 'arp-request', flood: true })).toEqual({ step: 3, event: 'bridge-flood' });
    // Nothing answers ARP on anyone's behalf: no vxlan device, no proxy.
    expect(sleeve.place({ role: 'vxlan', way: 'in', frame: 'arp-reply', proxied: true })).toBeUndefined();
    expect(classifyPath(flowOf(sleeve, [[1, 'send'], [2, 'veth-cross'], [3, 'forward'], [4, 'encap'], [5, 'underlay'], [6, 'udp-deliver'], [7, 'decap'], [8, 'deliver']])).kind).toBe('weave');
  });
});

describe('the overlay path model', () => {
  test('a ping across hosts, sighting by sighting, is steps 1–8 in order with the events sim and emu record', () => {
    const sightings: Sighting[] = [
      { role: 'container', way: 'out', frame: 'ip' }, { role: 'bridge-port', way: 'out', frame: 'ip' }, { role: 'vxlan', way: 'out', frame: 'ip' },
      { role: 'uplink', way: 'out', frame: 'ip', encapsulated: true }, { role: 'segment', way: 'out', frame: 'ip', encapsulated: true },
      { role: 'uplink', way: 'in', frame: 'ip', encapsulated: true }, { role: 'vxlan', way: 'in', frame: 'ip' }, { role: 'bridge-port', way: 'in', frame: 'ip' },
      { role: 'container', way: 'in', frame: 'ip' },
    ];
    expect(sightings.map((s) => overlayPath.place(s))).toEqual([
      { step: 1, event: 'send' }, { step: 2, event: 'veth-cross' }, { step: 3, event: 'bridge-forward' }, { step: 4, event: 'encap' }, { step: 5, event: 'underlay' },
      { step: 6, event: 'udp-deliver' }, { step: 7, event: 'decap' }, { step: 8, event: 'bridge-forward' }, { step: 8, event: 'deliver' },
    ]);
  });

  test('nothing off the path is placed on it; the host resolving the peer VTEP belongs to the encapsulation', () => {
    expect(overlayPath.place({ role: 'uplink', way: 'out', frame: 'ip' })).toBeUndefined();
    expect(overlayPath.place({ role: 'lo', way: 'out', frame: 'ip' })).toBeUndefined();
    expect(overlayPath.place({ role: 'bridge', way: 'out', frame: 'ip' })).toBeUndefined();
    expect(overlayPath.place({ role: 'vxlan', way: 'in', frame: 'arp-reply', proxied: true })).toEqual({ step: OVERLAY_STEP.bridge, event: 'arp-proxy-reply' });
    expect(overlayPath.place({ role: 'uplink', way: 'out', frame: 'arp-request' })).toEqual({ step: OVERLAY_STEP.encap, event: 'arp-request' });
    expect(overlayPath.place({ role: 'uplink', way: 'out', frame: 'arp-reply' })).toEqual({ step: OVERLAY_STEP.encap, event: 'arp-reply' });
    expect(Object.values(OVERLAY_STEP).sort((a, b) => a - b)).toEqual(overlayPath.steps.map((s) => s.step));
  });

  test('within one host the verdict is local; a copy across hosts is not', () => {
    const local = flowOf(overlayPath, [[OVERLAY_STEP.send, 'send'], [OVERLAY_STEP.veth, 'veth-cross'], [OVERLAY_STEP.deliver, 'deliver']]);
    expect(classifyPath(local).kind).toBe('local');
    const leaked = flowOf(overlayPath, [[OVERLAY_STEP.send, 'send'], [OVERLAY_STEP.veth, 'veth-cross'], [OVERLAY_STEP.encap, 'encap'], [OVERLAY_STEP.deliver, 'deliver']]);
    expect(classifyPath(leaked).kind).toBe('unknown');
  });

  test('the sim trace\'s notes are the model\'s wording, and its flows name the path', async () => {
    const s = loadScenario(path.join(REPO, 'scenarios', 'overlay-standalone.yaml'));
    const backend = new SimBackend(s.seed ?? seedFromName(s.name));
    const { result } = await runScenario(s, backend);
    const flow = result.trace.flows.find((f) => f.kind === 'icmp-echo')!;
    expect(flow.path).toBe('overlay');
    const hops = flow.hops;
    const encap = hops.find((h) => h.step === OVERLAY_STEP.encap && h.event === 'encap')!;
    const inner = encap.layers.filter((l) => l.proto === 'eth').pop()!;
    const outer = encap.layers.find((l) => l.proto === 'ip')!;
    expect(encap.note).toBe(overlayNotes.encap(inner['eth.dst'] as string, outer['ip.dst'] as string));
    const udp = hops.find((h) => h.step === OVERLAY_STEP.udpDeliver)!;
    const vni = udp.layers.find((l) => l.proto === 'vxlan')!['vxlan.vni'] as number;
    expect(udp.note).toBe(overlayNotes.udpDeliver(4789, 'vxlan0', vni, hops.find((h) => h.step === OVERLAY_STEP.decap && h.host === udp.host)!.netns));
  });
});

describe('the bridge path model', () => {
  test('a ping between two containers on one bridge, sighting by sighting: container eth0, veth host end, the bridge, the peer', () => {
    const sightings: Sighting[] = [
      { role: 'container', way: 'out', frame: 'ip' }, { role: 'bridge-port', way: 'out', frame: 'ip' },
      { role: 'bridge-port', way: 'in', frame: 'ip' }, { role: 'container', way: 'in', frame: 'ip' },
    ];
    expect(sightings.map((s) => bridgePath.place(s))).toEqual([
      { step: BRIDGE_STEP.send, event: 'send' }, { step: BRIDGE_STEP.veth, event: 'veth-cross' },
      { step: BRIDGE_STEP.bridge, event: 'bridge-forward' }, { step: BRIDGE_STEP.deliver, event: 'deliver' },
    ]);
    expect(bridgePath.steps.map((s) => s.name)).toEqual(['resolve', 'send', 'veth', 'bridge', 'deliver']);
  });

  test('ARP: the request is flooded to the peer\'s port and asks it at delivery; the answer belongs to step 1', () => {
    expect(bridgePath.place({ role: 'container', way: 'out', frame: 'arp-request' })).toEqual({ step: BRIDGE_STEP.send, event: 'arp-request' });
    expect(bridgePath.place({ role: 'bridge-port', way: 'in', frame: 'arp-request' })).toEqual({ step: BRIDGE_STEP.bridge, event: 'bridge-flood' });
    expect(bridgePath.place({ role: 'container', way: 'in', frame: 'arp-request' })).toEqual({ step: BRIDGE_STEP.deliver, event: 'arp-request' });
    expect(bridgePath.place({ role: 'bridge-port', way: 'in', frame: 'arp-reply' })).toEqual({ step: BRIDGE_STEP.send, event: 'bridge-forward' });
    expect(bridgePath.place({ role: 'container', way: 'in', frame: 'arp-reply' })).toEqual({ step: BRIDGE_STEP.send, event: 'arp-reply' });
  });

  test('vxlan, the uplink and the wire are not on it', () => {
    for (const role of ['vxlan', 'uplink', 'segment'] as const) for (const encapsulated of [false, true]) expect(bridgePath.place({ role, way: 'out', frame: 'ip', encapsulated })).toBeUndefined();
  });
});

describe('the gwbridge path model', () => {
  test('a request to the outside, sighting by sighting: container eth1, the gwbridge veth, docker_gwbridge, the host\'s routing out of eth0, the underlay, the remote host', () => {
    const sightings: Sighting[] = [
      { role: 'container', way: 'out', frame: 'ip' }, { role: 'bridge-port', way: 'out', frame: 'ip' }, { role: 'bridge', way: 'out', frame: 'ip' },
      { role: 'uplink', way: 'out', frame: 'ip', forwarded: true }, { role: 'segment', way: 'out', frame: 'ip' }, { role: 'uplink', way: 'in', frame: 'ip' },
    ];
    expect(sightings.map((s) => gwbridgePath.place(s))).toEqual([
      { step: GWBRIDGE_STEP.send, event: 'send' }, { step: GWBRIDGE_STEP.veth, event: 'veth-cross' }, { step: GWBRIDGE_STEP.bridge, event: 'bridge-forward' },
      { step: GWBRIDGE_STEP.forward, event: 'forward' }, { step: GWBRIDGE_STEP.underlay, event: 'underlay' }, { step: GWBRIDGE_STEP.remote, event: 'deliver' },
    ]);
    expect(gwbridgePath.steps.map((s) => s.name)).toEqual(['resolve', 'send', 'veth', 'bridge', 'forward', 'underlay', 'remote']);
  });

  test('the reply walks the same places back, the steps in the other order', () => {
    const sightings: Sighting[] = [
      { role: 'uplink', way: 'out', frame: 'ip' }, { role: 'segment', way: 'out', frame: 'ip' }, { role: 'uplink', way: 'in', frame: 'ip', forwarded: true },
      { role: 'bridge', way: 'in', frame: 'ip' }, { role: 'bridge-port', way: 'in', frame: 'ip' }, { role: 'container', way: 'in', frame: 'ip' },
    ];
    expect(sightings.map((s) => gwbridgePath.place(s)?.step)).toEqual([6, 5, 4, 3, 2, 1]);
    expect(gwbridgePath.place({ role: 'container', way: 'in', frame: 'ip' })?.event).toBe('deliver');
  });

  test('resolving the gateway belongs to step 1 (asked) and 3 (the bridge answers); the next hop\'s to the forwarding; VXLAN is not on it', () => {
    expect(gwbridgePath.place({ role: 'bridge', way: 'out', frame: 'arp-request' })).toEqual({ step: GWBRIDGE_STEP.bridge, event: 'arp-request' });
    expect(gwbridgePath.place({ role: 'bridge', way: 'in', frame: 'arp-reply' })).toEqual({ step: GWBRIDGE_STEP.bridge, event: 'arp-reply' });
    expect(gwbridgePath.place({ role: 'container', way: 'in', frame: 'arp-reply' })).toEqual({ step: GWBRIDGE_STEP.send, event: 'arp-reply' });
    expect(gwbridgePath.place({ role: 'uplink', way: 'out', frame: 'arp-request' })).toEqual({ step: GWBRIDGE_STEP.forward, event: 'arp-request' });
    expect(gwbridgePath.place({ role: 'uplink', way: 'out', frame: 'ip', encapsulated: true })).toBeUndefined();
    expect(gwbridgePath.place({ role: 'vxlan', way: 'out', frame: 'ip' })).toBeUndefined();
  });

  test('a request lost after docker_gwbridge took it up is checked against the host\'s forwarding', () => {
    expect(gwbridgePath.dropPointAfter(GWBRIDGE_STEP.bridge)).toBe('forward');
    expect(gwbridgePath.drops.forward).toBe(GWBRIDGE_STEP.forward);
    const walked = flowOf(gwbridgePath, [[1, 'send'], [2, 'veth-cross'], [3, 'bridge-forward'], [4, 'forward'], [5, 'underlay'], [6, 'deliver']]);
    expect(classifyPath(walked).kind).toBe('outside');
  });
});

describe('the calico path model', () => {
  test('a ping across hosts through a tunnel, sighting by sighting: eth0, cali, the tunnel, the wire wrapped, the peer unwrapping, its cali, eth0', () => {
    const sightings: Sighting[] = [
      { role: 'container', way: 'out', frame: 'ip' }, { role: 'host-end', way: 'out', frame: 'ip' }, { role: 'vxlan', way: 'out', frame: 'ip' },
      { role: 'uplink', way: 'out', frame: 'ip', encapsulated: true }, { role: 'segment', way: 'out', frame: 'ip', encapsulated: true },
      { role: 'uplink', way: 'in', frame: 'ip', encapsulated: true }, { role: 'vxlan', way: 'in', frame: 'ip' }, { role: 'host-end', way: 'in', frame: 'ip' },
      { role: 'container', way: 'in', frame: 'ip' },
    ];
    expect(sightings.map((s) => calicoPath.place(s))).toEqual([
      { step: 1, event: 'send' }, { step: 2, event: 'veth-cross' }, { step: 3, event: 'forward' }, { step: 4, event: 'encap' }, { step: 5, event: 'underlay' },
      { step: 6, event: 'udp-deliver' }, { step: 6, event: 'decap' }, { step: 7, event: 'forward' }, { step: 8, event: 'deliver' },
    ]);
    // IP in IP: tunl0 routed into and unwrapping, the uplink taking protocol 4.
    expect(calicoPath.place({ role: 'tunnel', way: 'out', frame: 'ip' })).toEqual({ step: CALICO_STEP.route, event: 'forward' });
    expect(calicoPath.place({ role: 'uplink', way: 'in', frame: 'ip', encapsulated: true, ipip: true })).toEqual({ step: CALICO_STEP.arrive, event: 'decap' });
  });

  test('without a tunnel (BGP): the host routes it out of eth0 as it is, the peer takes it off the wire; the verdict is calico either way', () => {
    expect(calicoPath.place({ role: 'uplink', way: 'out', frame: 'ip' })).toEqual({ step: CALICO_STEP.route, event: 'forward' });
    expect(calicoPath.place({ role: 'segment', way: 'out', frame: 'ip', encapsulated: false })).toEqual({ step: CALICO_STEP.underlay, event: 'underlay' });
    expect(calicoPath.place({ role: 'uplink', way: 'in', frame: 'ip' })).toEqual({ step: CALICO_STEP.arrive, event: 'forward' });
    const bgp = flowOf(calicoPath, [[1, 'send'], [2, 'veth-cross'], [3, 'forward'], [5, 'underlay'], [6, 'forward'], [7, 'forward'], [8, 'deliver']]);
    expect(classifyPath(bgp).kind).toBe('calico');
    const vxlan = flowOf(calicoPath, [[1, 'send'], [2, 'veth-cross'], [3, 'forward'], [4, 'encap'], [5, 'underlay'], [6, 'udp-deliver'], [6, 'decap'], [7, 'forward'], [8, 'deliver']]);
    expect(classifyPath(vxlan).kind).toBe('calico');
  });

  test('the container\'s ARP for 169.254.1.1 and the cali device\'s proxied answer belong to step 1; the host\'s ARP for its next hop to the packet leaving', () => {
    expect(calicoPath.place({ role: 'container', way: 'out', frame: 'arp-request' })).toEqual({ step: CALICO_STEP.send, event: 'arp-request' });
    expect(calicoPath.place({ role: 'host-end', way: 'out', frame: 'arp-request' })).toEqual({ step: CALICO_STEP.send, event: 'arp-request' });
    expect(calicoPath.place({ role: 'host-end', way: 'in', frame: 'arp-reply' })).toEqual({ step: CALICO_STEP.send, event: 'arp-proxy-reply' });
    expect(calicoPath.place({ role: 'container', way: 'in', frame: 'arp-reply' })).toEqual({ step: CALICO_STEP.send, event: 'arp-reply' });
    expect(calicoPath.place({ role: 'uplink', way: 'out', frame: 'arp-request' })).toEqual({ step: CALICO_STEP.encap, event: 'arp-request' });
    expect(calicoPath.place({ role: 'bridge-port', way: 'out', frame: 'ip' })).toBeUndefined();
  });
});
