/**
 * Throwaway network namespaces for tests that capture real traffic. Every name carries one
 * prefix, and cleanup removes exactly those namespaces, also after a failure.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';

export class TestNamespaces {
  readonly prefix = `cnmt${process.pid}x`;
  private readonly made: string[] = [];

  name(short: string): string {
    return this.prefix + short;
  }

  add(short: string): string {
    const ns = this.name(short);
    execFileSync('ip', ['netns', 'add', ns]);
    this.made.push(ns);
    this.exec(short, ['ip', 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Runs argv inside the namespace; never through a shell. */
  exec(short: string, argv: string[]): string {
    return execFileSync('ip', ['netns', 'exec', this.name(short), ...argv], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** A veth pair with one end in each namespace, both ends created in place. */
  veth(a: string, aIf: string, b: string, bIf: string): void {
    execFileSync('ip', ['-n', this.name(a), 'link', 'add', aIf, 'type', 'veth', 'peer', 'name', bIf, 'netns', this.name(b)]);
  }

  /** Starts tcpdump in a namespace and resolves once it says it is listening. */
  tcpdump(short: string, args: string[]): Promise<ChildProcess> {
    return this.tcpdumpReal(this.name(short), args);
  }

  /** The same in a namespace given by its full name. */
  tcpdumpReal(netns: string, args: string[]): Promise<ChildProcess> {
    const p = spawn('ip', ['netns', 'exec', netns, 'tcpdump', '--immediate-mode', '-Z', 'root', '-U', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    return new Promise((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 10000);
      p.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('listening on')) {
          clearTimeout(timer);
          resolve(p);
        }
      });
      p.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`tcpdump exited ${code}: ${err}`));
      });
    });
  }

  cleanup(): void {
    for (const ns of this.made.splice(0)) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  }
}

export function stopCapture(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null) return resolve();
    p.once('exit', () => resolve());
    p.kill('SIGINT');
  });
}
