/** Looking things up in a model's world, as tests name them. */
import { Container, hostOf, World } from '../../sim/model/world';

/** The container of that name on the host; throws, naming both, when there is none. */
export function containerNamed(world: World, host: string, name: string): Container {
  const c = Object.values(hostOf(world, host).containers).find((x) => x.name === name);
  if (!c) throw new Error(`no container named ${name} on ${host}`);
  return c;
}
