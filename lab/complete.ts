/** Tab completion at the lab's prompt: commands first, then the names the world holds. */
import { Terminal } from './shell';

const HOST_COMMANDS = ['docker', 'ip', 'bridge', 'ping', 'ln', 'cat', 'ssh', 'exit', 'sudo', 'nslookup', 'getent', 'hostname'];
const CONTAINER_COMMANDS = ['ping', 'nslookup', 'getent', 'hostname', 'cat', 'ip', 'echo', 'exit'];
export const LAB_COMMANDS = [':path', ':viz', ':save', ':reset', ':on', ':help'];
const DOCKER = ['swarm', 'network', 'run', 'ps', 'stop', 'rm', 'exec', 'inspect'];
const SUB: Record<string, string[]> = {
  network: ['create', 'ls', 'inspect', 'rm', 'connect', 'disconnect'],
  swarm: ['init', 'join', 'leave', 'join-token'],
};
const IP = ['addr', 'link', 'route', 'neigh', 'netns'];
const IP_NETNS = ['list', 'exec'];

/** Candidates for the word being typed, and that word, as readline's completer returns them. */
export function complete(term: Terminal, line: string): [string[], string] {
  const words = line.split(/\s+/);
  if (words[0] === '') words.shift();
  const word = words.pop() ?? '';
  if (words[0] === 'sudo') words.shift();
  const names = term.lab.names(term.place);
  let pool: string[];
  if (words.length === 0) pool = word.startsWith(':') ? LAB_COMMANDS : term.place.container ? CONTAINER_COMMANDS : HOST_COMMANDS;
  else if (words[0] === 'ssh' || words[0] === ':on') pool = names.hosts;
  else if (words[0] === 'docker' && words.length === 1) pool = DOCKER;
  else if (words[0] === 'docker' && words.length === 2 && SUB[words[1]]) pool = SUB[words[1]];
  else if (words[0] === 'ip' && words.length === 1) pool = IP;
  else if (words[0] === 'ip' && words[1] === 'netns' && words.length === 2) pool = IP_NETNS;
  else if (words[0] === 'ip' && words[1] === 'netns' && words[2] === 'exec' && words.length === 3) pool = names.namespaces;
  // ip netns exec NS COMMAND: what runs in the namespace is a command, as at the prompt.
  else if (words[0] === 'ip' && words[1] === 'netns' && words[2] === 'exec' && words.length === 4) pool = HOST_COMMANDS.filter((c) => !['ssh', 'exit', 'sudo'].includes(c));
  else if (words[0] === 'docker' && words[1] === 'network' && words.length >= 3) pool = names.networks;
  else if (words[0] === 'docker' && ['exec', 'stop', 'rm', 'inspect'].includes(words[1])) {
    // docker exec [flags] CONTAINER COMMAND: only this host's containers, then what runs in one.
    const positional = words.slice(2).filter((w) => !w.startsWith('-')).length;
    pool = positional === 0 || words[1] !== 'exec' ? names.here : [...CONTAINER_COMMANDS.filter((c) => c !== 'exit'), 'sh', 'bash'];
  }
  else if (words[0] === 'docker' && /^--?net(work)?$/.test(words[words.length - 1])) pool = names.networks;
  else pool = [...names.containers, ...names.networks, ...names.namespaces];
  const hits = [...new Set(pool)].filter((c) => c.startsWith(word)).sort();
  // A single candidate ends its word, as bash adds the space.
  return [hits.length === 1 ? [hits[0] + ' '] : hits, word];
}
