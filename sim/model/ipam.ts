/**
 * Address management as Docker's default IPAM does it: serial or first-free allocation inside
 * a subnet. A pool is an immutable value (see Ipam): each function returns the pool as it is
 * afterwards.
 */
import { Cidr, cidrString, contains, ipv4ToNumber, networkAddress, numberToIpv4, parseCidr } from '../wire/addr';
import { Ipam } from './world';

/** The allocation bitmap, as libnetwork's bitseq keeps it: 32 host offsets per word (a number under its key w<word>). */
const WORD_BITS = 5;

/**
 * A word's key in the bitmap (Ipam.used): a name, not the word's number. V8 keeps a frozen
 * record of number keys in its slow dictionary form, which every allocation copies; a record
 * of named keys copies and freezes as a small object does. Made once per word.
 */
const wordKeys: string[] = [];

function keyOf(word: number): string {
  return (wordKeys[word] ??= `w${word}`);
}

function isUsed(ipam: Ipam, offset: number): boolean {
  return ((ipam.used[keyOf(offset >>> WORD_BITS)] ?? 0) & (1 << (offset & 31))) !== 0;
}

function withWord(used: Readonly<Record<string, number>>, key: string, bits: number): Record<string, number> {
  const copy = { ...used };
  if (bits === 0) delete copy[key];
  else copy[key] = bits;
  return copy;
}

function markUsed(used: Readonly<Record<string, number>>, offset: number): Record<string, number> {
  const key = keyOf(offset >>> WORD_BITS);
  return withWord(used, key, (used[key] ?? 0) | (1 << (offset & 31)));
}

/** Each pool's subnet parsed, by its text: a pool's every version keeps its subnet, and a `docker run` allocates from two. */
const subnets = new Map<string, Readonly<Cidr>>();

function subnetOf(subnet: string): Readonly<Cidr> {
  let c = subnets.get(subnet);
  if (!c) {
    c = Object.freeze(parseCidr(subnet)!);
    subnets.set(subnet, c);
  }
  return c;
}

export function newIpam(subnet: string, gateway?: string): Ipam {
  const c = parseCidr(subnet)!;
  const gw = gateway ?? numberToIpv4(networkAddress(c) + 1);
  return new Ipam(cidrString(c), gw, 1, markUsed({}, ipv4ToNumber(gw) - networkAddress(c)));
}

/** The pool with the gateway a plugin reports in place of the default one (the addresses taken stay as they were). */
export function withGateway(ipam: Ipam, gateway: string): Ipam {
  return new Ipam(ipam.subnet, gateway, ipam.next, ipam.used);
}

/** The pool of a network without addresses (host, none, or one the manager could not allocate a subnet for). */
export function emptyIpam(): Ipam {
  return new Ipam('', '', 0, {});
}

/**
 * An address, and the pool with it taken. Serially (`serial`, libnetwork's AllocSerialPrefix,
 * which swarmkit's allocator asks for every swarm network's addresses: cnmallocator), the next
 * free one after the last given, wrapping once; otherwise the first free one, as libnetwork's
 * default IPAM hands out a local or global network's (bitseq's SetAny from the start), so an
 * address given back is the next one handed out.
 */
export function allocate(ipam: Ipam, serial: boolean): { ip: string; ipam: Ipam } | undefined {
  const c = subnetOf(ipam.subnet);
  const size = 2 ** (32 - c.prefixLength);
  const base = networkAddress(c);
  const from = serial ? ipam.next : 1;
  for (let i = 0; i < size - 2; i++) {
    const offset = ((from + i - 1) % (size - 2)) + 1;
    if (!isUsed(ipam, offset)) {
      return { ip: numberToIpv4(base + offset), ipam: new Ipam(ipam.subnet, ipam.gateway, serial ? offset + 1 : ipam.next, markUsed(ipam.used, offset)) };
    }
  }
  return undefined;
}

/** The pool with a requested address (`--ip`) taken; undefined when it is outside the subnet or taken. */
export function claim(ipam: Ipam, ip: string): Ipam | undefined {
  const c = subnetOf(ipam.subnet);
  const n = ipv4ToNumber(ip);
  if (!contains(c, n)) return undefined;
  const offset = n - networkAddress(c);
  if (isUsed(ipam, offset) || offset === 0 || offset === 2 ** (32 - c.prefixLength) - 1) return undefined;
  return new Ipam(ipam.subnet, ipam.gateway, ipam.next, markUsed(ipam.used, offset));
}

/** The pool with an address given back. */
export function release(ipam: Ipam, ip: string): Ipam {
  const c = subnetOf(ipam.subnet);
  const offset = ipv4ToNumber(ip) - networkAddress(c);
  const key = keyOf(offset >>> WORD_BITS);
  return new Ipam(ipam.subnet, ipam.gateway, ipam.next, withWord(ipam.used, key, (ipam.used[key] ?? 0) & ~(1 << (offset & 31))));
}

export function prefixLengthOf(subnet: string): number {
  return subnetOf(subnet).prefixLength;
}
