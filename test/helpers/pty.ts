/**
 * A program at a pseudo-terminal, as a student's terminal runs it: util-linux `script` gives
 * it a pty (so readline edits lines, completes and turns Ctrl-C into a keypress), and the
 * test types into it and reads the screen's byte stream.
 */
import { ChildProcess, spawn } from 'child_process';

/** Readline's cursor moves and erases, and the terminal's carriage returns. */
export function plain(screen: string): string {
  return screen.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}

export class Pty {
  private readonly child: ChildProcess;
  screen = '';
  private exited?: number;
  private readonly exit: Promise<number>;

  constructor(argv: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }) {
    const command = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    this.child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: opts.cwd, env: { ...process.env, TERM: 'xterm', COLUMNS: '200', LINES: '50', ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (b: Buffer) => (this.screen += b.toString()));
    this.child.stderr!.on('data', (b: Buffer) => (this.screen += b.toString()));
    this.exit = new Promise((done) => this.child.on('exit', (code) => done((this.exited = code ?? -1))));
  }

  /** The screen with escapes and carriage returns taken out. */
  get text(): string {
    return plain(this.screen);
  }

  type(keys: string): void {
    this.child.stdin!.write(keys);
  }

  /** Waits until the screen after `from` matches. */
  async waitFor(pattern: RegExp | string, from = 0, timeoutMs = 20000): Promise<string> {
    const t0 = Date.now();
    for (;;) {
      const text = plain(this.screen.slice(from));
      if (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) return text;
      if (this.exited !== undefined) throw new Error(`exited (${this.exited}) before ${pattern}; screen:\n${text}`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${pattern}; screen:\n${text}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Types a line and waits for the next prompt; returns what the screen showed in between. */
  async run(line: string, prompt: RegExp | string, timeoutMs?: number): Promise<string> {
    const from = this.screen.length;
    this.type(line + '\r');
    return this.waitFor(prompt, from, timeoutMs);
  }

  async exitCode(timeoutMs = 30000): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<number>((_, fail) => (timer = setTimeout(() => fail(new Error(`still running after ${timeoutMs} ms; screen:\n${this.text}`)), timeoutMs)));
    try {
      return await Promise.race([this.exit, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.exited === undefined) this.child.kill('SIGKILL');
  }
}
