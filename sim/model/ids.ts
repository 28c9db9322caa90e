/**
 * Seeded identifiers. The generator state lives in the world, so a replay of the same
 * scenario with the same seed yields the same ids, and nothing depends on the wall clock.
 */

/** One step of mulberry32: returns a 32-bit value and the next state. */
export function nextRandom(state: number): [number, number] {
  const next = (state + 0x6d2b79f5) >>> 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [((t ^ (t >>> 14)) >>> 0), next];
}

/** A source of random values that writes its state back through `save`. */
export interface Rng {
  rng: number;
}

export function randomUint32(holder: Rng): number {
  const [v, s] = nextRandom(holder.rng);
  holder.rng = s;
  return v;
}

const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';

function randomString(holder: Rng, alphabet: string, length: number): string {
  let s = '';
  while (s.length < length) {
    let v = randomUint32(holder);
    for (let i = 0; i < 4 && s.length < length; i++, v >>>= 8) s += alphabet[(v & 0xff) % alphabet.length];
  }
  return s;
}

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
const hexScratch = Buffer.alloc(64);

/** Writes byte `b` into `out` at `at` as two lowercase hex digits (the kernel's MAC text, sim/kernel/kernel.ts). */
export function writeHexByte(out: Buffer, at: number, b: number): void {
  out[at] = HEX_DIGITS[b >>> 4];
  out[at + 1] = HEX_DIGITS[b & 15];
}

/**
 * Container, endpoint, sandbox and local network ids: 64 hex characters, 8 per random value
 * (big-endian, as `toString(16).padStart(8, '0')` would give). Written as bytes and read
 * once as a string: a big swarm makes a great many of them.
 */
export function hexId(holder: Rng, length = 64): string {
  const words = Math.ceil(length / 8);
  const out = words * 8 <= hexScratch.length ? hexScratch : Buffer.alloc(words * 8);
  for (let w = 0; w < words; w++) {
    let v = randomUint32(holder);
    for (let i = w * 8 + 7; i >= w * 8; i--, v >>>= 4) out[i] = HEX_DIGITS[v & 15];
  }
  return out.toString('latin1', 0, length);
}

/** Swarm object ids (swarmkit identity.NewID): 25 base-36 characters. */
export function swarmId(holder: Rng): string {
  return randomString(holder, BASE36, 25);
}

export function base36(holder: Rng, length: number): string {
  return randomString(holder, BASE36, length);
}

/** A stable 32-bit seed from a scenario name. */
export function seedFromName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
