/**
 * A scenario host's shell: `docker` goes to the model, `ip netns` reads the model's
 * namespaces, and everything else runs in the backend inside the right namespace.
 */
import { Backend, CommandOutput, LiveIo } from '../backend';
import { shellWords } from '../text/words';
import { Model } from '../model/model';
import { findContainer } from '../model/tx';
import { Container, hostOf } from '../model/world';
import { dockerStep } from '../docker/session';

const NETNS_DIR_LINK = ['ln', '-s', '/var/run/docker/netns', '/var/run/netns'];

export function containerByName(model: Model, name: string): Container | undefined {
  for (const host of model.world.hostOrder) {
    const c = findContainer(hostOf(model.world, host), name);
    if (c) return c;
  }
  return undefined;
}

export async function hostShell(model: Model, backend: Backend, host: string, line: string, live?: LiveIo): Promise<CommandOutput> {
  let argv: string[];
  try {
    argv = shellWords(line);
  } catch (e) {
    return { stdout: '', stderr: `bash: ${(e as Error).message}\n`, exitCode: 2 };
  }
  const h = () => hostOf(model.world, host);
  const ctx = () => ({ world: model.world, namesVisible: h().netnsLinked, live });
  if (argv[0] === 'sudo') argv = argv.slice(1);
  if (argv[0] === 'docker') {
    const step = dockerStep(model, host, argv.slice(1));
    await backend.apply(step.ops, model.world);
    const o = step.outcome;
    if ('exec' in o) {
      const c = hostOf(model.world, host).containers[o.exec.container];
      return runInContainer(model, backend, c, o.exec.argv, live);
    }
    return o;
  }
  if (argv.join(' ') === NETNS_DIR_LINK.join(' ')) {
    if (h().netnsLinked) return { stdout: '', stderr: "ln: failed to create symbolic link '/var/run/netns/netns': File exists\n", exitCode: 1 };
    model.linkNetnsDir(host);
    return { stdout: '', stderr: '', exitCode: 0 };
  }
  // `ip -n NS …` runs as `ip netns exec NS ip …` does (iproute2 enters the named namespace).
  const netnsOption = argv[0] === 'ip' ? argv.findIndex((a, i) => i > 0 && (a === '-n' || a === '-netns')) : -1;
  if (netnsOption > 0 && argv.slice(1, netnsOption).every((a) => a.startsWith('-')) && argv[netnsOption + 1] !== undefined) {
    argv = ['ip', 'netns', 'exec', argv[netnsOption + 1], 'ip', ...argv.slice(1, netnsOption), ...argv.slice(netnsOption + 2)];
  }
  if (argv[0] === 'ip' && argv[1] === 'netns') {
    const sub = argv[2] ?? 'list';
    const visible = h().netnsLinked ? [...h().namespaces].reverse() : [];
    if (sub === 'ls' || sub === 'list' || sub === 'show') return { stdout: visible.map((n) => n + '\n').join(''), stderr: '', exitCode: 0 };
    if (sub === 'exec') {
      const ns = argv[3];
      if (!ns || argv.length < 5) return { stdout: '', stderr: 'No netns name specified\n', exitCode: 255 };
      if (!visible.includes(ns)) return { stdout: '', stderr: `Cannot open network namespace "${ns}": No such file or directory\n`, exitCode: 255 };
      return backend.exec(host, ns, argv.slice(4), ctx());
    }
    return { stdout: '', stderr: `Command "${sub}" is unknown, try "ip netns help".\n`, exitCode: 255 };
  }
  return backend.exec(host, host, argv, ctx());
}

export async function runInContainer(model: Model, backend: Backend, c: Container, argv: string[], live?: LiveIo): Promise<CommandOutput> {
  if (c.state !== 'running') return { stdout: '', stderr: `Error response from daemon: Container ${c.id} is not running\n`, exitCode: 1 };
  return backend.exec(c.host, c.sandbox, argv, { world: model.world, container: c.id, namesVisible: hostOf(model.world, c.host).netnsLinked, live });
}

export async function containerShell(model: Model, backend: Backend, name: string, line: string, live?: LiveIo): Promise<CommandOutput> {
  const c = containerByName(model, name);
  if (!c) return { stdout: '', stderr: `Error: No such container: ${name}\n`, exitCode: 1 };
  let argv: string[];
  try {
    argv = shellWords(line);
  } catch (e) {
    return { stdout: '', stderr: `sh: ${(e as Error).message}\n`, exitCode: 2 };
  }
  return runInContainer(model, backend, c, argv, live);
}
