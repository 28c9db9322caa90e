/**
 * Real names for the model's logical ones. Every namespace an emu run makes carries the
 * run's prefix: `<prefix>.<host>` for a host, `<prefix>.<host>.<ns>` for Docker's
 * namespaces on it, `<prefix>._underlay` for the segment the hosts share: a scenario host
 * name starts with a letter, so no host (not even one named `underlay`) can take that name.
 */
import { randomBytes } from 'crypto';

const SAFE = /^[A-Za-z0-9_.:@-]+$/;

/** Values such as a.b.c.d/n: like names, plus the slash. */
export function safeValue(value: string): string {
  if (!/^[A-Za-z0-9_.:@/+-]+$/.test(value) || value.startsWith('-')) throw new Error(`refusing unsafe value ${JSON.stringify(value)}`);
  return value;
}

export function newPrefix(): string {
  return `cnm${randomBytes(3).toString('hex')}`;
}

/** Names reach commands only as argv items; this refuses anything a shell or ip could misread. */
export function safe(name: string): string {
  if (!SAFE.test(name) || name.startsWith('-')) throw new Error(`refusing unsafe name ${JSON.stringify(name)}`);
  return name;
}

export class NameMap {
  constructor(readonly prefix: string) {}

  get underlay(): string {
    return `${this.prefix}._underlay`;
  }

  netns(host: string, ns: string): string {
    return ns === host ? `${this.prefix}.${safe(host)}` : `${this.prefix}.${safe(host)}.${safe(ns)}`;
  }

  /** Replaces real namespace names in command output with the logical ones a Docker host shows. */
  unmap(text: string, host: string): string {
    return text.split(`${this.prefix}.${host}.`).join('').split(`${this.prefix}.${host}`).join(host).split(`${this.prefix}.`).join('');
  }
}
