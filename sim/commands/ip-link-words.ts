/**
 * What a typed `ip [OPTIONS] link add|del …` names, read from its words alone (no kernel
 * asked): emu counts the device such a step made or deleted once it succeeded
 * (emu/ifindex.ts), the way sim's kernel numbered it.
 */

/**
 * The verb and the device's name (the first word, or the one after a first `name` or
 * `dev`); none for `ip link add type dummy`, which the kernel names (dummy%d). Undefined
 * for any other command.
 */
export function typedLinkChange(argv: string[]): { verb: 'add' | 'del'; name?: string } | undefined {
  let at = 1;
  while (at < argv.length && argv[at].startsWith('-')) at++;
  if (argv[0] !== 'ip' || argv[at] !== 'link') return undefined;
  const word = argv[at + 1];
  const verb = word === 'add' ? 'add' : word === 'del' || word === 'delete' ? 'del' : undefined;
  if (!verb) return undefined;
  const [first, second] = argv.slice(at + 2);
  if (first === undefined || first === 'type') return { verb };
  return { verb, name: first === 'name' || first === 'dev' ? second : first };
}
