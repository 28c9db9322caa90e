/** docs/commands.md, written from the registry so the list of modelled commands cannot drift from what the shells accept. */
import { DOCKER_COMMANDS, DOCKER_GROUPS, DockerFlag } from './docker';
import { NOT_MODELLED_EXIT, ProgramEntry, registeredCommands } from './registry';

const ANSWERED_BY = {
  model: 'the model (same answer in sim and emu)',
  kernel: 'sim: the simulated kernel; emu: the real program, same argv, in the namespace',
  cnmlab: 'cnmlab, over the previous stage\'s output (both modes)',
};

function flagName(f: DockerFlag): string {
  return `${f.short ? `-${f.short}, ` : ''}--${f.long}`;
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

export function commandsMarkdown(): string {
  const lines: string[] = [
    '# Modelled commands',
    '',
    '<!-- Generated from the command registry (sim/commands/registry.ts and the rows the drivers\' front ends register) and sim/commands/docker.ts by `npm run docs`; test/commands-doc.test.ts fails when this file is stale. -->',
    '',
    'A scenario step runs one command line in a host\'s shell or a container\'s shell. Both modes read it the same way:',
    '',
    '- The line is split into words as `sh` splits them (single and double quotes, backslashes; no expansion).',
    '  Unquoted `|` joins commands into a pipeline and `;` runs pipelines one after another. Nothing else is',
    '  shell syntax here: a redirection, `&`, `&&`, `||`, `$…`, backquotes, globs, subshells or a comment make',
    '  the whole line not modelled. A word like `<...>` or `<token>` is a plain word (a placeholder), not a',
    '  redirection. No shell ever runs a step.',
    '- Every command of the line is checked against the registry below before anything runs. One command',
    '  outside it refuses the whole line: nothing runs, stderr says',
    `  \`cnmlab: not modelled: <command>\`, and the exit status is ${NOT_MODELLED_EXIT}. The run lists such steps in`,
    `  its summary, and \`verify\` fails them unless the step's \`expect\` names \`exit: ${NOT_MODELLED_EXIT}\`.`,
    '- In a pipeline, every stage after the first is a text filter (grep, head, tail, wc); cnmlab applies it to',
    '  the previous stage\'s stdout. stderr collects every stage\'s; the exit status is the last stage\'s, and a',
    '  line\'s is its last pipeline\'s (as `sh` without `pipefail`), unless cnmlab stopped a stage at the step\'s',
    '  timeout (exit 124) or output cap (exit 141): then that is the line\'s exit and nothing after it runs',
    '  ([scenarios.md](scenarios.md#bounds-timeout-and-output-cap)).',
    '- In emu, a command the registry answers with "the real program" runs as that program with the same argv,',
    '  confined to the step\'s namespace and view (README, "Emulation safety"); nothing else ever starts a process.',
    '- A leading `sudo` is accepted and dropped: steps run as root in both modes.',
    '- Options not listed for a command are not modelled (a real program may know them; cnmlab would not do',
    '  what they ask, so it says so instead of pretending).',
    '',
    '## Host and container shells',
    '',
    'A container\'s image decides its tools (sim/commands/family.ts): `busybox` and `alpine` images have',
    'BusyBox\'s applets (the rows marked *BusyBox images*), every other image the GNU tools (*GNU images*);',
    'a host\'s shell is GNU (its `busybox ping` is BusyBox\'s ping). A program the image does not have is its',
    'shell\'s answer, exit 127: in a BusyBox image one that is no BusyBox applet, `sh: NAME: not found`; in a',
    'Debian-based image (debian, ubuntu, nginx) one that is neither a row below, nor in Debian 12\'s smallest',
    'system (its required packages and apt: no curl, wget, dig, ifconfig, ps), nor one the image\'s Dockerfile',
    'installs (nginx\'s curl), `bash: NAME: command not found`. `docker exec` of such a program prints runc\'s',
    'refusal (`OCI runtime exec failed: … executable file not found in $PATH: unknown`) and exits 126. A',
    'program the image has that no row lists (ls, sort), or any program no row lists in another image',
    '(netshoot, redis, centos: cnmlab does not know what they hold), is not modelled.',
    '',
    'In a GNU image, `ip`, `tc`, `iptables` and `iptables-save` answer in the texts of the host\'s tools (iproute2',
    '6.1, Debian 12\'s iptables 1.8.9 with nf_tables; in emu the host\'s own programs run in the container\'s',
    'namespace), whatever the image and its age: the image\'s own tools are not modelled. An old image would',
    'print other texts: ubuntu:14.04\'s iptables is 1.4.21, legacy (no `(nf_tables)`, other messages).',
    '',
    '| command | shells | answered by | what |',
    '|---|---|---|---|',
  ];
  for (const e of registeredCommands()) {
    if (e.program === 'docker') {
      lines.push(`| \`docker …\` (see below) | ${e.shells.join(', ')} | ${ANSWERED_BY[e.answeredBy]} | ${cell(e.summary)} |`);
      continue;
    }
    for (const f of e.forms) {
      const options = f.options.length ? `<br>options: ${f.options.map((o) => `\`${o.flag}${o.arg ? ` ${o.values ? o.values.join('\\|') : o.arg.toUpperCase()}` : ''}\` ${cell(o.help)}`).join('; ')}` : '';
      lines.push(`| \`${cell(f.synopsis)}\` | ${shellsOf(e)} | ${ANSWERED_BY[e.answeredBy]} | ${cell(e.summary)}${options} |`);
    }
  }
  lines.push(
    '',
    '`ip netns exec NETNS COMMAND` runs COMMAND (a host-shell command the kernel answers: ip, bridge, ping, echo,',
    'true) in NETNS. NETNS may be written `@NETWORK`: the overlay namespace of NETWORK on that host (`1-` and the',
    'first ten characters of its id), so a lab need not paste seeded ids. Like any namespace name it is visible',
    'only after the tutorial\'s `ln -s /var/run/docker/netns /var/run/netns`.',
    '',
    '## docker (host shell)',
    '',
    'Docker 20.10\'s CLI, answered by the model in both modes. `--help` prints Docker\'s own text where every flag',
    'Docker has is declared; elsewhere it is not modelled. A flag Docker has but cnmlab does not act on is not',
    'modelled; where the whole flag set is declared, a flag Docker does not have gets Docker\'s own error.',
    '',
    '| command | aliases | modelled flags | flags not modelled | `--help` |',
    '|---|---|---|---|---|',
  );
  for (const c of DOCKER_COMMANDS) {
    const last = c.path.length - 1;
    const aliases = (c.aliases ?? []).map((a) => `\`${[...c.path.slice(0, last), a].join(' ')}\``).join(', ');
    const flags = (modelled: boolean) => c.flags.filter((f) => f.modelled === modelled).map((f) => `\`${flagName(f)}\``).join(' ') || '—';
    lines.push(`| \`docker ${[...c.path.slice(0, last), c.use].join(' ')}\` | ${aliases || '—'} | ${flags(true)} | ${c.complete ? flags(false) : 'any other'} | ${c.complete ? 'yes' : 'not modelled'} |`);
  }
  lines.push(
    '',
    `\`docker ${DOCKER_GROUPS.map((g) => g.name).join('`, `docker ')}\` alone print the command list on stderr (exit 0), as Docker 20.10 does; with \`--help\`, on stdout.`,
    '`docker exec CONTAINER COMMAND` checks COMMAND against the container shell.',
    '',
    '`docker run` without `-d` whose start the daemon refuses prints the refusal alone. Docker 20.10\'s CLI may',
    'also log `error waiting for container: context canceled` after it (logrus\'s `ERRO[0000] …` at a terminal):',
    'it cancels its wait for the container as it reports the refusal, and whether the wait sees the cancel',
    'before it ends is a race (docker/for-linux#561; later CLIs ignore the cancel). cnmlab models no race, so it',
    'never prints that line; the exit code is the same either way.',
    '',
  );
  return lines.join('\n');
}

/** Where an entry's program exists: its shells, and for a container the images whose tools it is. */
function shellsOf(e: ProgramEntry): string {
  const families = e.families ?? ['gnu'];
  if (!e.shells.includes('container') || families.length > 1) return e.shells.join(', ');
  const images = families[0] === 'busybox' ? 'container (*BusyBox images*)' : 'container (*GNU images*)';
  return e.shells.map((sh) => (sh === 'container' ? images : sh)).join(', ');
}
