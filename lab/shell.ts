/**
 * A lab: a scenario's hosts as shells a student types into, one command at a time. Each
 * terminal keeps where it is (a host, a container entered with `docker exec -it`, hosts
 * reached by `ssh`); every command is a step of one ScenarioSession (the runner `cnmlab run`
 * uses) and meets the scenario's steps as a checklist. Nothing here touches Node: the
 * terminal lab and the browser lab both drive it.
 */
import { Backend, LiveIo } from '../sim/backend';
import { ScenarioSession, StepResult } from '../sim/runner/session';
import { Scenario, Step } from '../sim/scenario/schema';
import { checkLine } from '../sim/runner/expect';
import { findContainer } from '../sim/model/tx';
import { Container, hostOf, Network, swarmNetworks } from '../sim/model/world';
import { isInteractiveShell, mainArgv } from '../sim/model/main-process';
import { toolFamilyOf } from '../sim/commands/family';
import { containerByName } from '../sim/runner/shell';
import { shellWords } from '../sim/text/words';

/** A host, or a container on it. */
export interface Place {
  host: string;
  container?: string;
  /** Entered by `docker run -it`: the shell is the container's main process, so leaving it stops the container. */
  attached?: boolean;
  /** The attached container's id: one made later under its name (after it was removed) is another container, whose shell this is not. */
  containerId?: string;
}

/** What a typed line did. */
export type LineResult =
  | { kind: 'none' }
  /** Moved somewhere (ssh, docker exec -it, exit); `output` is what the move printed. */
  | { kind: 'moved'; output: string }
  /** `exit` where the terminal started: the student leaves it. */
  | { kind: 'leave' }
  /** Ran as a session step. `met` is the scenario step it met, when it met one. */
  | { kind: 'step'; result: StepResult; met?: Step };

/** One world, its session, and the scenario's steps as a checklist; terminals type into it. */
export class Lab {
  /** Scenario steps already met (by index). */
  readonly met = new Set<number>();
  /** The scenario step each session step was matched to (by session step index); its expect goes into a saved scenario. */
  readonly matched = new Map<number, Step>();
  /** Why the lab itself ran a session step the student did not type (by session step index); a saved scenario says it. */
  readonly notes = new Map<number, string>();

  private constructor(
    readonly scenario: Scenario,
    readonly session: ScenarioSession,
  ) {}

  static async open(s: Scenario, backend: Backend): Promise<Lab> {
    return new Lab(s, await ScenarioSession.start(s, backend));
  }

  /** A terminal opened on a host (the first one by default) or in a container. */
  terminal(place: Place = { host: this.scenario.hosts[0].name }): Terminal {
    return new Terminal(this, place);
  }

  /** Runs a command where it was typed, as the next step, checked against the scenario step it meets. */
  async run(on: string, command: string, live?: LiveIo): Promise<{ result: StepResult; met?: Step }> {
    const met = this.scenario.steps.find((s) => !this.met.has(s.index) && s.on === on && s.command === command);
    const result = await this.session.step(on, command, { expect: met?.expect, line: met?.line, timeout: met?.timeout, live, terminal: true });
    if (met) this.matched.set(result.index, met);
    if (met && result.ok) this.met.add(met.index);
    return { result, met };
  }

  /**
   * The prompt where a command runs: `r0$ ` on a host; in a container its image's shell as
   * root in /: BusyBox's ash (busybox, alpine) `/ # `, bash as the seed's transcript shows
   * it, `root@ubuntu0:/# `. `id` picks the container when one was made again under its name.
   */
  prompt(on: string, id?: string): string {
    if (this.session.isHost(on)) return `${on}$ `;
    const w = this.session.model.world;
    const byId = id === undefined ? undefined : w.hostOrder.map((h) => hostOf(w, h).containers[id]).find((c) => c !== undefined);
    const c = byId ?? containerByName(this.session.model, on);
    return c && toolFamilyOf(c.image) === 'busybox' ? '/ # ' : `root@${on}:/# `;
  }

  /** Names of the running containers on a host. */
  containersOn(host: string): string[] {
    return Object.values(hostOf(this.session.model.world, host).containers).filter((c) => c.state === 'running').map((c) => c.name);
  }

  /** Host names, container names (everywhere, and on the place's host), network names and visible namespace names, for completion. */
  names(place: Place): { hosts: string[]; containers: string[]; here: string[]; networks: string[]; namespaces: string[] } {
    const w = this.session.model.world;
    const hosts = w.hostOrder.map((h) => hostOf(w, h));
    const here = hostOf(w, place.host);
    const networks = new Set<string>(['bridge', 'host', 'none']);
    for (const n of Object.values(here.localNetworks)) networks.add(n.name);
    for (const n of swarmNetworks<Network>(w.swarm)) networks.add(n.name);
    return {
      hosts: w.hostOrder,
      containers: hosts.flatMap((h) => Object.values(h.containers).map((c) => c.name)),
      here: Object.values(here.containers).map((c) => c.name),
      networks: [...networks],
      namespaces: here.netnsLinked ? [...here.namespaces] : [],
    };
  }
}

/** A shell on the lab; `exit` goes back one place. */
export class Terminal {
  private places: Place[];

  constructor(
    readonly lab: Lab,
    place: Place,
  ) {
    this.places = [place];
  }

  get place(): Place {
    return this.places[this.places.length - 1];
  }

  prompt(): string {
    const p = this.place;
    return this.lab.prompt(p.container ?? p.host, p.containerId);
  }

  /** Moves to a host, forgetting the way there (`:on`). */
  switchTo(host: string): boolean {
    if (!this.lab.session.isHost(host)) return false;
    this.places = [{ host }];
    return true;
  }

  /** Runs one typed line where the terminal is. */
  async line(text: string, live?: LiveIo): Promise<LineResult> {
    const command = text.trim();
    if (command === '' || command.startsWith('#')) return { kind: 'none' };
    let argv: string[] = [];
    try {
      argv = shellWords(command);
    } catch {
      // The step reports the shell's own complaint.
    }
    const p = this.place;
    if ((argv[0] === 'exit' || argv[0] === 'logout') && argv.length <= 2) {
      if (this.places.length === 1) return { kind: 'leave' };
      this.places.pop();
      // Docker stops a container whose main process ends; the session records it as the
      // `docker stop` it is, so a saved lab replays the same world. Its output (the name) is
      // not shown: the real shell's exit prints nothing.
      if (p.container && p.attached && p.containerId) return { kind: 'moved', output: await this.stopAttached(p.host, p.container, p.containerId) };
      return { kind: 'moved', output: p.container ? '' : `logout\nConnection to ${p.host} closed.\n` };
    }
    if (!p.container && argv[0] === 'ssh' && argv.length === 2) {
      const to = argv[1].replace(/^[^@]*@/, '');
      if (!this.lab.session.isHost(to)) return { kind: 'moved', output: `ssh: Could not resolve hostname ${to}: Name or service not known\n` };
      this.places.push({ host: to });
      return { kind: 'moved', output: '' };
    }
    const entered = p.container ? undefined : this.enteredContainer(p.host, argv);
    if (entered) {
      this.places.push({ host: p.host, container: entered });
      return { kind: 'moved', output: '' };
    }
    const runningBefore = new Set(this.runningIds(p.host));
    const { result, met } = await this.lab.run(p.container ?? p.host, command, live);
    const attached = result.exitCode === 0 && !p.container ? this.attachedContainer(p.host, argv, runningBefore) : undefined;
    if (attached) this.places.push({ host: p.host, container: attached.name, attached: true, containerId: attached.id });
    return { kind: 'step', result, met };
  }

  /**
   * Leaving the shell of `docker run -it` stops its container, which the session records as
   * the `docker stop` it is. A container stopped or removed from elsewhere meanwhile has no
   * shell left to leave: nothing is stopped, and the terminal says what became of it.
   * Returns what the terminal shows.
   */
  private async stopAttached(host: string, name: string, id: string): Promise<string> {
    const c = hostOf(this.lab.session.model.world, host).containers[id];
    if (!c) return `cnmlab lab: ${name} was removed meanwhile; its shell is gone, nothing to stop\n`;
    if (c.state !== 'running') return `cnmlab lab: ${name} was stopped meanwhile; its shell is gone, nothing to stop\n`;
    const { result } = await this.lab.run(host, `docker stop ${c.name}`);
    if (result.exitCode === 0) {
      this.lab.notes.set(result.index, ` typed as 'exit' in the shell 'docker run -it' started: the container stopped with it`);
      return '';
    }
    this.lab.notes.set(result.index, ` typed as 'exit' in the shell 'docker run -it' started: the lab's docker stop of the container failed (exit ${result.exitCode})`);
    return result.stdout + result.stderr;
  }

  /**
   * `docker run -it IMAGE [SHELL]` without -d attaches the terminal to the container's shell, as
   * Docker's overlay tutorial starts alpine1: the shell moves into the container the step
   * started (the one running now that was not before). A container given another command
   * (`docker run -it alpine echo hi`) runs it and exits; the terminal stays on the host.
   */
  private attachedContainer(host: string, argv: string[], runningBefore: ReadonlySet<string>): Container | undefined {
    if (argv[0] !== 'docker' || argv[1] !== 'run') return undefined;
    const flags = shortFlags(argv.slice(2));
    if (!flags.has('interactive') || !flags.has('tty') || flags.has('detach')) return undefined;
    const started = Object.values(hostOf(this.lab.session.model.world, host).containers).filter((c) => c.state === 'running' && !runningBefore.has(c.id));
    if (started.length !== 1) return undefined;
    const [c] = started;
    // Without a command, the image's own (alpine's sh, ubuntu's /bin/bash, nginx's daemon).
    return isInteractiveShell(mainArgv(c.image, c.command)) ? c : undefined;
  }

  private runningIds(host: string): string[] {
    return Object.values(hostOf(this.lab.session.model.world, host).containers).filter((c) => c.state === 'running').map((c) => c.id);
  }

  /** `docker exec -it NAME sh` names a running container of this host: the shell moves into it. */
  private enteredContainer(host: string, argv: string[]): string | undefined {
    if (argv[0] !== 'docker' || argv[1] !== 'exec') return undefined;
    let i = 2;
    while (i < argv.length && argv[i].startsWith('-')) i++;
    const flags = shortFlags(argv.slice(2, i));
    const rest = argv.slice(i);
    if (!flags.has('interactive') || !flags.has('tty') || rest.length < 2 || !isInteractiveShell(rest.slice(1))) return undefined;
    const c = findContainer(hostOf(this.lab.session.model.world, host), rest[0]);
    return c && c.state === 'running' ? c.name : undefined;
  }
}

/** The boolean flags among docker's words, long names for -i, -t and -d. */
function shortFlags(words: string[]): Set<string> {
  const long: Record<string, string> = { i: 'interactive', t: 'tty', d: 'detach' };
  const flags = new Set<string>();
  for (const w of words) {
    if (w.startsWith('--')) flags.add(w.slice(2).split('=')[0]);
    else if (/^-[a-z]+$/.test(w)) for (const f of w.slice(1)) flags.add(long[f] ?? f);
  }
  return flags;
}

/**
 * The text a step shows at a terminal once it is done: the rest of its output, then its
 * checks, but for a failed `modelled` check: the step's own `cnmlab: not modelled: …` line
 * has said it, and at a prompt no expectation was written for it to fail.
 */
export function stepText(r: StepResult, streamed: { stdout: number; stderr: number }): string {
  return r.stdout.slice(streamed.stdout) + r.stderr.slice(streamed.stderr) + r.checks.filter((c) => c.ok || c.what !== 'modelled').map(checkLine).join('');
}
