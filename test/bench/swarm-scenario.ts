/**
 * Generated swarm scenarios for the cold benchmarks: too big to commit, so the bench writes
 * them into a temporary directory and runs `cnmlab run` on them as a user would.
 */
import { SwarmSize } from './model.bench';

/** A scenario file: `hosts` nodes join one swarm, `overlays` attachable overlays, `containers` spread round-robin, then c0 pings a container on another host once. */
export function swarmScenarioYaml(size: SwarmSize): string {
  const lines = [`name: swarm-${size.hosts}-${size.containers}`, 'hosts:'];
  for (let i = 0; i < size.hosts; i++) lines.push(`  h${i}: {}`);
  lines.push('steps:');
  // Ingress needs an address per node: a /16 pool mask gives it 65k, as operators of big swarms configure.
  lines.push('  - h0: docker swarm init --default-addr-pool 10.0.0.0/8 --default-addr-pool-mask-length 16');
  for (let i = 1; i < size.hosts; i++) lines.push(`  - h${i}: docker swarm join --token <...> 198.51.100.10:2377`);
  for (let n = 0; n < size.overlays; n++) lines.push(`  - h0: docker network create -d overlay --attachable net${n}`);
  for (let c = 0; c < size.containers; c++) lines.push(`  - h${c % size.hosts}: docker run -dit --name c${c} --network net${c % size.overlays} busybox`);
  // c0 (on h0, net0) pings c(overlays): on net0 too, and on host h(overlays) as long as there are more hosts than overlays.
  lines.push(`  - c0: ping -c 1 c${size.overlays}`, '    expect: { exit: 0, path: overlay }');
  return lines.join('\n') + '\n';
}
