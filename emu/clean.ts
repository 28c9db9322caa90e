/** Removing what emu runs made: on close, and for `cnmlab clean` after a crash or kill -9. */
import * as fs from 'fs';
import * as path from 'path';
import { batch } from './exec';
import { NETNS_ETC, ownerAlive, parseRunMark, processStartTime, readStates, RunState, STATE_DIR } from './state';

/**
 * Stops recorded processes and deletes recorded namespaces and files. Tolerates what is already
 * gone. After a crash (`cnmlab clean`), also every tcpdump inside the run's namespaces: a run
 * killed between starting one and recording its pid has it in no list. `signalled` learns
 * each pid stopped.
 */
export async function teardown(state: RunState, afterCrash = false, signalled?: Set<number>): Promise<string[]> {
  const ours = namespaceInodes(state);
  const pids = afterCrash ? [...new Set([...state.pids, ...capturesInside(ours)])] : state.pids;
  for (const pid of pids) {
    // Only processes that still run tcpdump, etcd, bird, a socket holder (listeners.ts), weave's router (weaver.ts), a miss handler and its `ip monitor` (misswatch.ts)
    // or a DNS responder (dns.ts) for this run (named by the prefix, or inside one of its namespaces, as a tcpdump writing to --pcap-dir is): a recycled pid is left alone.
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (/tcpdump|etcd|bird|cnmlab-listener|cnmlab-weaver|cnmlab-misswatch|monitor\0neigh|cnmlab-dns/.test(cmdline) && (cmdline.includes(state.prefix) || ours.has(fs.statSync(`/proc/${pid}/ns/net`).ino))) {
        process.kill(pid, 'SIGKILL');
        signalled?.add(pid);
      }
    } catch {
      // gone
    }
  }
  // A name in /run/netns is what `ip netns list` lists (without asking each of the machine's namespaces for its id).
  const mine = state.namespaces.filter((n) => n.startsWith(`${state.prefix}.`) && fs.existsSync(path.join('/run/netns', n)));
  await batch('ip', mine.map((n) => ['netns', 'del', n]), true);
  for (const f of state.files) if (path.dirname(f) === NETNS_ETC && path.basename(f).startsWith(`${state.prefix}.`)) fs.rmSync(f, { recursive: true, force: true });
  return mine;
}

/** The tcpdumps whose network namespace is one of these. */
function capturesInside(namespaces: Set<number>): number[] {
  if (namespaces.size === 0) return [];
  return fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).filter((pid) => {
    try {
      return namespaces.has(fs.statSync(`/proc/${pid}/ns/net`).ino) && fs.readFileSync(`/proc/${pid}/comm`, 'utf8') === 'tcpdump\n';
    } catch {
      return false;
    }
  });
}

/** The network namespaces of a run, by inode (what /proc/PID/ns/net of a process inside points at). */
function namespaceInodes(state: RunState): Set<number> {
  const inodes = new Set<number>();
  for (const n of state.namespaces) {
    try {
      if (n.startsWith(`${state.prefix}.`)) inodes.add(fs.statSync(`/run/netns/${n}`).ino);
    } catch {
      // already deleted
    }
  }
  return inodes;
}

/**
 * `cnmlab clean`: every run whose owner is gone, kept or not. A run whose owner still runs
 * (another terminal, a `--keep` run not yet finished) is left alone; a state file that
 * fails its check (a forged prefix, a path outside /etc/netns) is refused and nothing of it
 * is removed. Then the processes of runs no state file lists any more (stopOrphanedProcesses).
 */
export async function cleanAll(): Promise<{ removed: string[]; skipped: string[]; refused: string[]; stopped: string[] }> {
  const signalled = new Set<number>();
  const removed: string[] = [];
  const skipped: string[] = [];
  const refused: string[] = [];
  for (const { file, state, refused: why } of readStates()) {
    if (!state) {
      refused.push(`${file}: ${why}`);
      continue;
    }
    if (state.pid !== process.pid && ownerAlive(state)) {
      skipped.push(`${state.prefix} (${state.keep ? 'kept ' : ''}run ${state.pid} of ${state.scenario} is still running)`);
      continue;
    }
    removed.push(...(await teardown(state, true, signalled)));
    fs.rmSync(file, { force: true });
    fs.rmSync(file.replace(/\.json$/, ''), { recursive: true, force: true });
  }
  return { removed, skipped, refused, stopped: stopOrphanedProcesses(signalled) };
}

/**
 * Processes whose run is gone: a run killed before it recorded a pid, a state file removed by
 * hand, or a whole state folder deleted (a test's temporary one) leaves BIRD, etcd, a
 * responder, a socket holder, a miss handler or a tcpdump running that no state file lists.
 * Each carries its run's mark in its environment (RunRecord.marked), inherited by what it
 * starts, so it is known by that and by nothing a program of another's could share (its
 * name, its arguments). One is stopped when its run's owner is gone and its run's state file
 * is too, or is in this state folder and not refused; a process whose owner still runs, or
 * whose run is kept in another state folder (not ours to judge), or of a run whose state file
 * clean refused (nothing of such a run is touched), is left. A mark alone proves nothing
 * (anyone can set a variable), so a process counts only when root started it (real uid 0: a
 * user's process, set-uid or not, is never ours) in this machine's pid namespace (a run
 * inside a container has its owner and state file where this clean cannot see them; the mount
 * namespace tells nothing, as `ip netns exec` gives each program one of its own),
 * and is the same process when killed as when its mark was read (its start time, against a
 * pid used again). `handled`: the pids teardown already stopped. Returns what it stopped, as
 * `name pid (prefix)`.
 */
export function stopOrphanedProcesses(handled: Set<number> = new Set()): string[] {
  const leaveAlone = new Set(readStates().filter((s) => !s.state || ownerAlive(s.state)).map((s) => path.resolve(s.file)));
  const here = path.resolve(STATE_DIR);
  const pidNamespace = (pid: number | 'self') => fs.statSync(`/proc/${pid}/ns/pid`).ino;
  const machine = pidNamespace('self');
  const stopped: string[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!/^\d+$/.test(entry) || handled.has(pid)) continue;
    const started = processStartTime(pid);
    let mark;
    try {
      mark = parseRunMark(fs.readFileSync(`/proc/${pid}/environ`, 'latin1'));
      if (!mark || !/^Uid:\t0\t/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8')) || pidNamespace(pid) !== machine) continue;
    } catch {
      continue;
    }
    if (ownerAlive(mark.owner) || processStartTime(pid) !== started) continue;
    const stateKept = fs.existsSync(mark.stateFile);
    if (stateKept && (path.dirname(mark.stateFile) !== here || leaveAlone.has(mark.stateFile))) continue;
    let name = '?';
    try {
      name = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      process.kill(pid, 'SIGKILL');
      stopped.push(`${name} ${entry} (${mark.prefix})`);
    } catch {
      // gone
    }
  }
  return stopped;
}
