/** Gathers small writes into large ones, so printing a million frames is not bound by syscalls. */
export class BufferedOut {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly stream: NodeJS.WritableStream = process.stdout, private readonly limit = 1 << 16) {}

  write(s: string): void {
    this.parts.push(s);
    this.size += s.length;
    if (this.size >= this.limit) this.drain();
  }

  private drain(): void {
    if (this.parts.length === 0) return;
    this.stream.write(this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }

  flush(): Promise<void> {
    this.drain();
    return new Promise((resolve) => this.stream.write('', () => resolve()));
  }
}
