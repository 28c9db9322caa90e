/**
 * The trace's topology is observed after every step of a run; each observation rebuilds only
 * the hosts the step changed, and the result is what a build from scratch gives.
 */
import { parseScenario } from '../sim/scenario/load';
import { runScenario } from '../sim/runner/runner';
import { SimBackend } from '../sim/kernel/backend';
import { newModel } from '../sim/runner/runner';
import { dockerStep } from '../sim/docker/session';
import { RunTopology } from '../sim/trace/topology';
import { topologyDuring } from '../sim/trace/lifetimes';
import { swarmScenarioYaml } from './bench/swarm-scenario';

const size = { hosts: 12, overlays: 3, containers: 40 };
const scenario = () => parseScenario('swarm.yaml', swarmScenarioYaml(size));

test('a step rebuilds the topology of the hosts it changed, not of every host', () => {
  const s = scenario();
  const model = newModel(s);
  model.boot();
  const topo = new RunTopology();
  topo.observe(0, model.world);
  expect(topo.hostsBuilt).toBe(size.hosts);
  let steps = 0;
  for (const step of s.steps.filter((st) => st.command.startsWith('docker'))) {
    const before = topo.hostsBuilt;
    const out = dockerStep(model, step.on, step.command.split(' ').slice(1));
    expect('exitCode' in out.outcome ? out.outcome.exitCode : 0).toBe(0);
    topo.observe(++steps, model.world);
    // `docker run` changes its own host; `swarm init`/`join` and `network create` touch the
    // manager and the joining node (the ingress network's endpoints and instances).
    expect(topo.hostsBuilt - before).toBeLessThanOrEqual(2);
  }
  // A rebuild of every host at every step would be hosts × steps.
  expect(topo.hostsBuilt).toBeLessThan(size.hosts + 2 * steps);
});

test('the topology a run ends with is the one built from scratch from its last world', async () => {
  const s = scenario();
  const { result, model } = await runScenario(s, new SimBackend(1));
  expect(result.ok).toBe(true);
  const fresh = new RunTopology();
  fresh.observe(0, model.world);
  const strip = ({ since: _s, until: _u, ...o }: { since?: number; until?: number }) => o;
  const end = topologyDuring(result.trace.topology, undefined);
  // Objects appear in the order they were made, not in host order: compare as sets.
  const key = (o: object) => JSON.stringify(o);
  expect(end.namespaces.map(strip).map(key).sort()).toEqual(fresh.topology().namespaces.map(key).sort());
  expect(end.links.map(strip).map(key).sort()).toEqual(fresh.topology().links.map(key).sort());
  expect(end.links.length).toBeGreaterThan(size.containers * 2);
});

test('a step serialises the objects it made, not every object of the host it changed', () => {
  const s = scenario();
  const model = newModel(s);
  model.boot();
  const topo = new RunTopology();
  topo.observe(0, model.world);
  let steps = 0;
  for (const step of s.steps.filter((st) => st.command.startsWith('docker'))) {
    dockerStep(model, step.on, step.command.split(' ').slice(1));
    topo.observe(++steps, model.world);
  }
  const onH0 = topologyDuring(topo.topology(), undefined).links.filter((l) => l.host === 'h0').length;
  const before = topo.objectsSerialised;
  const out = dockerStep(model, 'h0', ['run', '-dit', '--name', 'extra', '--network', 'net0', 'busybox']);
  expect('exitCode' in out.outcome ? out.outcome.exitCode : 0).toBe(0);
  topo.observe(++steps, model.world);
  // Its sandbox, and the veth pairs of its two endpoints (net0's, docker_gwbridge's).
  expect(topo.objectsSerialised - before).toBeLessThanOrEqual(5);
  expect(onH0).toBeGreaterThan(20);
});

test('a run whose trace nobody reads observes no topology, and its steps are the traced run\'s', async () => {
  const observe = jest.spyOn(RunTopology.prototype, 'observe');
  try {
    const untraced = (await runScenario(scenario(), new SimBackend(1), undefined, { trace: false })).result;
    expect(observe).not.toHaveBeenCalled();
    expect('trace' in untraced).toBe(false);
    const traced = (await runScenario(scenario(), new SimBackend(1))).result;
    expect(observe).toHaveBeenCalled();
    expect(untraced.ok).toBe(true);
    expect(untraced.steps).toEqual(traced.steps);
  } finally {
    observe.mockRestore();
  }
});

test('a host is drawn from the swarm networks it has endpoints on, not from every network of the swarm', () => {
  const s = parseScenario('swarm.yaml', swarmScenarioYaml({ hosts: 4, overlays: 12, containers: 8 }));
  const model = newModel(s);
  model.boot();
  const topo = new RunTopology();
  topo.observe(0, model.world);
  let steps = 0;
  for (const step of s.steps.filter((st) => st.command.startsWith('docker'))) {
    dockerStep(model, step.on, step.command.split(' ').slice(1));
    topo.observe(++steps, model.world);
  }
  const before = topo.networksRead;
  const out = dockerStep(model, 'h1', ['run', '-dit', '--name', 'extra', '--network', 'net1', 'busybox']);
  expect('exitCode' in out.outcome ? out.outcome.exitCode : 0).toBe(0);
  topo.observe(++steps, model.world);
  // h1's networks: ingress, net1 and net5 (its containers c1 and c5); 13 swarm networks in all.
  expect(topo.networksRead - before).toBe(3);
  const fresh = new RunTopology();
  fresh.observe(0, model.world);
  const key = (o: object) => JSON.stringify(o);
  const strip = ({ since: _s, until: _u, ...o }: { since?: number; until?: number }) => o;
  expect(topologyDuring(topo.topology(), undefined).links.map(strip).map(key).sort()).toEqual(fresh.topology().links.map(key).sort());
});
