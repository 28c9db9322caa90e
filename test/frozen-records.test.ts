/**
 * The container and endpoint records a step makes are frozen when the step ends (Tx.made), so
 * immer's finalize skips them: anything a frozen record holds must be its own, never a draft.
 * An endpoint made while its container is drafted (docker start, network connect) is handed
 * the container's aliases as a draft; kept as given, the frozen endpoint held that draft past
 * the step, and the next read of its aliases threw on the revoked proxy (e849f30, reverted;
 * 5c86e2b makes the endpoint copy them).
 */
import { isDraft } from 'immer';
import { Model } from '../sim/model/model';
import { dockerStep } from '../sim/docker/session';
import { CommandOutput } from '../sim/backend';
import { shellWords } from '../sim/text/words';
import { answerQuery } from '../sim/model/dns';
import { NETNS_GC_PERIOD_NS } from '../sim/model/sandbox';
import { Container, endpointOf, hostOf } from '../sim/model/world';
import { containerNamed } from './helpers/world';

function hostWithNetworks(): { model: Model; docker: (line: string) => CommandOutput } {
  const model = new Model([{ name: 'h0', underlay: '198.51.100.10' }], 7);
  model.boot();
  const docker = (line: string): CommandOutput => {
    const o = dockerStep(model, 'h0', shellWords(line)).outcome;
    if ('exec' in o) throw new Error(`unexpected exec: ${line}`);
    return o;
  };
  expect(docker('network create n1')).toMatchObject({ exitCode: 0, stderr: '' });
  expect(docker('network create n2')).toMatchObject({ exitCode: 0, stderr: '' });
  return { model, docker };
}

function app(model: Model): Container {
  return containerNamed(model.world, 'h0', 'app');
}

/** Each of app's endpoints is frozen and holds a list of aliases of its own, no draft and not its container's. */
function expectOwnAliases(model: Model): void {
  const c = app(model);
  expect(c.networks).toHaveLength(2);
  for (const n of c.networks) {
    const ep = endpointOf(hostOf(model.world, 'h0').localNetworks[n.networkId], n.endpointId!)!;
    expect(Object.isFrozen(ep)).toBe(true);
    expect(isDraft(ep.aliases)).toBe(false);
    expect(ep.aliases).not.toBe(n.aliases);
    expect(ep.aliases).toEqual(n.aliases);
  }
}

/**
 * What app's networks show: network inspect's container on each with its address, inspect's
 * aliases, and what app's resolver answers for each alias (no answer of its own for the
 * names in `absent`).
 */
function expectShown(model: Model, docker: (line: string) => CommandOutput, aliases: { n1: string; n2: string }, addresses: { n1: string; n2: string }, absent: string[]): void {
  const c = app(model);
  const short = c.id.slice(0, 12);
  const nets = docker('network inspect n1 n2');
  expect(nets).toMatchObject({ exitCode: 0, stderr: '' });
  const shown = (JSON.parse(nets.stdout) as { Name: string; Containers: Record<string, { Name: string; IPv4Address: string }> }[])
    .map((n) => [n.Name, Object.entries(n.Containers).map(([id, e]) => [id, e.Name, e.IPv4Address])]);
  expect(shown).toEqual([['n1', [[c.id, 'app', `${addresses.n1}/16`]]], ['n2', [[c.id, 'app', `${addresses.n2}/16`]]]]);
  const inspected = docker("inspect -f '{{json .NetworkSettings.Networks}}' app");
  expect(inspected).toMatchObject({ exitCode: 0, stderr: '' });
  const networks = JSON.parse(inspected.stdout) as Record<string, { Aliases: string[] }>;
  expect(Object.fromEntries(Object.entries(networks).map(([name, n]) => [name, n.Aliases]))).toEqual({ n1: [aliases.n1, short], n2: [aliases.n2, short] });
  const address = (name: string) => answerQuery(model.world, c, name, 'A')?.answers.map((a) => a.data);
  expect(address(aliases.n1)).toEqual([addresses.n1]);
  expect(address(aliases.n2)).toEqual([addresses.n2]);
  for (const name of absent) expect([name, answerQuery(model.world, c, name, 'A')]).toEqual([name, undefined]);
}

test('endpoints made while their container is drafted keep aliases of their own past the step: stop, start, disconnect, connect', () => {
  const { model, docker } = hostWithNetworks();
  expect(docker('run -dit --name app --network n1 --network-alias db busybox')).toMatchObject({ exitCode: 0, stderr: '' });
  expect(docker('network connect --alias web n2 app')).toEqual({ exitCode: 0, stdout: '', stderr: '' });
  expect(docker('stop app')).toEqual({ exitCode: 0, stdout: 'app\n', stderr: '' });
  expect(docker('start app')).toEqual({ exitCode: 0, stdout: 'app\n', stderr: '' });
  expectOwnAliases(model);
  // Each start takes the first free address of a local network (libnetwork's default IPAM): the one its stop released.
  expectShown(model, docker, { n1: 'db', n2: 'web' }, { n1: '172.18.0.2', n2: '172.19.0.2' }, []);
  expect(docker('network disconnect n2 app')).toEqual({ exitCode: 0, stdout: '', stderr: '' });
  expect(docker('network connect --alias api n2 app')).toEqual({ exitCode: 0, stdout: '', stderr: '' });
  expectOwnAliases(model);
  expect(docker('stop app')).toEqual({ exitCode: 0, stdout: 'app\n', stderr: '' });
  expect(docker('start app')).toEqual({ exitCode: 0, stdout: 'app\n', stderr: '' });
  expectOwnAliases(model);
  expectShown(model, docker, { n1: 'db', n2: 'api' }, { n1: '172.18.0.2', n2: '172.19.0.2' }, ['web']);
  expect(docker('rm -f app')).toEqual({ exitCode: 0, stdout: 'app\n', stderr: '' });
  expect(docker('network inspect -f "{{len .Containers}}" n1 n2')).toEqual({ exitCode: 0, stdout: '0\n0\n', stderr: '' });
});

test("the namespace collector's tick freezes the list of files it leaves, as a step freezes the lists it makes", () => {
  const { model, docker } = hostWithNetworks();
  expect(docker('run -dit --name app --network n1 busybox')).toMatchObject({ exitCode: 0, stderr: '' });
  expect(docker('rm -f app')).toEqual({ exitCode: 0, stdout: 'app\n', stderr: '' });
  const before = hostOf(model.world, 'h0');
  expect(Object.isFrozen(before.netnsFiles)).toBe(true);
  expect(before.netnsFiles.length).toBeGreaterThan(before.namespaces.length);
  model.tick(NETNS_GC_PERIOD_NS);
  const after = hostOf(model.world, 'h0');
  expect(after.netnsFiles).toEqual(after.namespaces);
  expect(Object.isFrozen(after.netnsFiles)).toBe(true);
});
