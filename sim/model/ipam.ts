/** Address management as Docker's default IPAM does it: serial allocation inside a subnet. */
import { cidrString, contains, ipv4ToNumber, networkAddress, numberToIpv4, parseCidr } from '../wire/addr';
import { Ipam } from './world';

/**
 * The allocation bitmap, as libnetwork's bitseq keeps it: 32 host offsets per number. A
 * step reads and writes plain numbers, so immer copies only the small record of words.
 */
const WORD_BITS = 5;

function isUsed(ipam: Ipam, offset: number): boolean {
  return ((ipam.used[offset >>> WORD_BITS] ?? 0) & (1 << (offset & 31))) !== 0;
}

function markUsed(ipam: Ipam, offset: number): void {
  const word = offset >>> WORD_BITS;
  ipam.used[word] = (ipam.used[word] ?? 0) | (1 << (offset & 31));
}

export function newIpam(subnet: string, gateway?: string): Ipam {
  const c = parseCidr(subnet)!;
  const gw = gateway ?? numberToIpv4(networkAddress(c) + 1);
  const ipam: Ipam = { subnet: cidrString(c), gateway: gw, next: 1, used: {} };
  markUsed(ipam, ipv4ToNumber(gw) - networkAddress(c));
  return ipam;
}

/** Allocates the next free address after the last one given (AllocSerialPrefix), wrapping once. */
export function allocate(ipam: Ipam): string | undefined {
  const c = parseCidr(ipam.subnet)!;
  const size = 2 ** (32 - c.prefixLength);
  const base = networkAddress(c);
  for (let i = 0; i < size - 2; i++) {
    const offset = ((ipam.next + i - 1) % (size - 2)) + 1;
    if (!isUsed(ipam, offset)) {
      markUsed(ipam, offset);
      ipam.next = offset + 1;
      return numberToIpv4(base + offset);
    }
  }
  return undefined;
}

/** Claims a requested address (`--ip`); false when it is outside the subnet or taken. */
export function claim(ipam: Ipam, ip: string): boolean {
  const c = parseCidr(ipam.subnet)!;
  const n = ipv4ToNumber(ip);
  if (!contains(c, n)) return false;
  const offset = n - networkAddress(c);
  if (isUsed(ipam, offset) || offset === 0 || offset === 2 ** (32 - c.prefixLength) - 1) return false;
  markUsed(ipam, offset);
  return true;
}

export function release(ipam: Ipam, ip: string): void {
  const c = parseCidr(ipam.subnet)!;
  const offset = ipv4ToNumber(ip) - networkAddress(c);
  const word = offset >>> WORD_BITS;
  const left = (ipam.used[word] ?? 0) & ~(1 << (offset & 31));
  if (left === 0) delete ipam.used[word];
  else ipam.used[word] = left;
}

export function prefixLengthOf(subnet: string): number {
  return parseCidr(subnet)!.prefixLength;
}
