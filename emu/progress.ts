/** A progress bar on stderr while a setup takes more than a second (silent with --json or no TTY). */
import type { SingleBar } from 'cli-progress';

export class Progress {
  private bar?: SingleBar;
  private total = 0;
  private value = 0;
  private readonly started = Date.now();

  constructor(private readonly quiet: boolean) {}

  expect(n: number): void {
    this.total += n;
    if (this.bar) this.bar.setTotal(this.total);
  }

  tick(n: number): void {
    this.value += n;
    if (!this.bar && !this.quiet && process.stderr.isTTY && Date.now() - this.started > 1000 && this.total > 0) {
      // Loaded when a bar is first shown: most runs never show one, and loading it costs every run's start.
      const { SingleBar: Bar } = require('cli-progress') as typeof import('cli-progress');
      this.bar = new Bar({ format: 'emu setup [{bar}] {value}/{total} namespaces', stream: process.stderr, hideCursor: true, clearOnComplete: true });
      this.bar.start(this.total, this.value);
    }
    this.bar?.update(this.value);
  }

  /** Whatever was expected is done (namespaces with nothing to configure count too). */
  complete(): void {
    this.tick(this.total - this.value);
  }

  done(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
