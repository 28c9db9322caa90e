/** Address notation as Wireshark prints it: MACs as aa:bb:cc:dd:ee:ff, IPv4 dotted quad. */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * A capture holds few distinct addresses but formats them once per frame, so formatted
 * strings are cached by numeric value (bounded, cleared when full). Keys are signed 32-bit
 * numbers, which V8 keeps as small integers: hashing them allocates nothing.
 */
const CACHE_LIMIT = 1 << 16;
/** By the MAC's last four bytes; the first two are checked on a hit. */
const macCache = new Map<number, { high: number; text: string }>();
const ipv4Cache = new Map<number, string>();

/**
 * The last MACs formatted, in a small table indexed by a few bits of each (as the recent
 * IPv4 addresses below): a frame's path formats its two MACs at every bridge and vxlan
 * device, a handful of addresses in all, and a slot compared is cheaper than a Map asked.
 */
const RECENT_MAC_SLOTS = 64;
const recentMacTexts: (string | undefined)[] = new Array<string | undefined>(RECENT_MAC_SLOTS).fill(undefined);
const recentMacHigh = new Int32Array(RECENT_MAC_SLOTS);
const recentMacLow = new Int32Array(RECENT_MAC_SLOTS);

export function macToString(b: Uint8Array, offset = 0): string {
  const high = (b[offset] << 8) | b[offset + 1];
  const low = (b[offset + 2] << 24) | (b[offset + 3] << 16) | (b[offset + 4] << 8) | b[offset + 5];
  const slot = (low ^ (low >>> 8) ^ (low >>> 16) ^ (low >>> 24) ^ high) & (RECENT_MAC_SLOTS - 1);
  const recent = recentMacTexts[slot];
  if (recent !== undefined && recentMacLow[slot] === low && recentMacHigh[slot] === high) return recent;
  const text = macToStringCached(b, offset, high, low);
  recentMacTexts[slot] = text;
  recentMacLow[slot] = low;
  recentMacHigh[slot] = high;
  return text;
}

function macToStringCached(b: Uint8Array, offset: number, high: number, low: number): string {
  const hit = macCache.get(low);
  if (hit !== undefined && hit.high === high) return hit.text;
  return macToStringAnew(b, offset, high, low);
}

/** A MAC not in the cache, formatted and cached (apart: the cache's hit is what every frame's path inlines). */
function macToStringAnew(b: Uint8Array, offset: number, high: number, low: number): string {
  const text = `${HEX[b[offset]]}:${HEX[b[offset + 1]]}:${HEX[b[offset + 2]]}:${HEX[b[offset + 3]]}:${HEX[b[offset + 4]]}:${HEX[b[offset + 5]]}`;
  if (macCache.size >= CACHE_LIMIT) macCache.clear();
  macCache.set(low, { high, text });
  return text;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function isMac(s: string): boolean {
  return MAC_RE.test(s);
}

const macBytes = new Map<string, Uint8Array>();

export function writeMac(mac: string, b: Uint8Array, offset: number): void {
  let bytes = macBytes.get(mac);
  if (!bytes) {
    if (!isMac(mac)) throw new Error(`not a MAC address: ${mac}`);
    bytes = new Uint8Array(6);
    for (let i = 0; i < 6; i++) bytes[i] = parseInt(mac.substr(i * 3, 2), 16);
    if (macBytes.size >= CACHE_LIMIT) macBytes.clear();
    macBytes.set(mac, bytes);
  }
  b.set(bytes, offset);
}

/**
 * The last addresses converted, in a small table indexed by a few bits of each: a packet's
 * path converts the same handful of addresses again and again (every datagram's header
 * writes two, every reply reads its source), and a slot compared is cheaper than a Map
 * asked. The Maps above stay behind them for everything else.
 */
const RECENT_SLOTS = 64;
const recentTexts: (string | undefined)[] = new Array<string | undefined>(RECENT_SLOTS).fill(undefined);
const recentTextKeys = new Int32Array(RECENT_SLOTS);
const recentNumberTexts: (string | undefined)[] = new Array<string | undefined>(RECENT_SLOTS).fill(undefined);
const recentNumbers = new Uint32Array(RECENT_SLOTS);

export function ipv4ToString(b: Uint8Array, offset = 0): string {
  const key = (b[offset] << 24) | (b[offset + 1] << 16) | (b[offset + 2] << 8) | b[offset + 3];
  const slot = (key ^ (key >>> 8) ^ (key >>> 16)) & (RECENT_SLOTS - 1);
  const recent = recentTexts[slot];
  if (recent !== undefined && recentTextKeys[slot] === key) return recent;
  const s = ipv4ToStringCached(b, offset, key);
  recentTexts[slot] = s;
  recentTextKeys[slot] = key;
  return s;
}

function ipv4ToStringCached(b: Uint8Array, offset: number, key: number): string {
  let s = ipv4Cache.get(key);
  if (s === undefined) {
    s = `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
    if (ipv4Cache.size >= CACHE_LIMIT) ipv4Cache.clear();
    ipv4Cache.set(key, s);
  }
  return s;
}

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIpv4(s: string): boolean {
  return IPV4_RE.test(s);
}

const ipv4Numbers = new Map<string, number>();

export function ipv4ToNumber(ip: string): number {
  const slot = (ip.length * 31 + ip.charCodeAt(ip.length - 1) * 7 + ip.charCodeAt(ip.length - 2)) & (RECENT_SLOTS - 1);
  if (recentNumberTexts[slot] === ip) return recentNumbers[slot];
  const n = ipv4ToNumberCached(ip);
  recentNumberTexts[slot] = ip;
  recentNumbers[slot] = n;
  return n;
}

function ipv4ToNumberCached(ip: string): number {
  let n = ipv4Numbers.get(ip);
  if (n === undefined) {
    if (!isIpv4(ip)) throw new Error(`not an IPv4 address: ${ip}`);
    const p = ip.split('.');
    n = ((+p[0] << 24) | (+p[1] << 16) | (+p[2] << 8) | +p[3]) >>> 0;
    if (ipv4Numbers.size >= CACHE_LIMIT) ipv4Numbers.clear();
    ipv4Numbers.set(ip, n);
  }
  return n;
}

export function numberToIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function writeIpv4(ip: string, b: Uint8Array, offset: number): void {
  const n = ipv4ToNumber(ip);
  b[offset] = n >>> 24;
  b[offset + 1] = (n >>> 16) & 255;
  b[offset + 2] = (n >>> 8) & 255;
  b[offset + 3] = n & 255;
}

/** Docker's overlay MAC: 02:42 followed by the four bytes of the IPv4 address. */
export function macFromIpv4(ip: string): string {
  const n = ipv4ToNumber(ip);
  return `02:42:${HEX[n >>> 24]}:${HEX[(n >>> 16) & 255]}:${HEX[(n >>> 8) & 255]}:${HEX[n & 255]}`;
}

export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';
export const ZERO_MAC = '00:00:00:00:00:00';

/** An IPv4 prefix: a.b.c.d/n as numbers. */
export interface Cidr {
  base: number;
  prefixLength: number;
}

/** Parses a.b.c.d/n; undefined when it is not valid IPv4 CIDR notation. */
export function parseCidr(s: string): Cidr | undefined {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(s);
  if (!m) return undefined;
  const prefixLength = Number(m[2]);
  if (prefixLength > 32) return undefined;
  let base: number;
  try {
    base = ipv4ToNumber(m[1]);
  } catch {
    return undefined;
  }
  return { base, prefixLength };
}

export function maskOf(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

export function networkAddress(c: Cidr): number {
  return (c.base & maskOf(c.prefixLength)) >>> 0;
}

export function cidrString(c: Cidr): string {
  return `${numberToIpv4(networkAddress(c))}/${c.prefixLength}`;
}

export function contains(c: Cidr, ip: number): boolean {
  const m = maskOf(c.prefixLength);
  return ((ip & m) >>> 0) === networkAddress(c);
}

/** Whether dotted `ip` lies in the subnet written as CIDR text (false for text that is none). */
export function subnetContains(subnet: string, ip: string): boolean {
  const c = parseCidr(subnet);
  return !!c && contains(c, ipv4ToNumber(ip));
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefixLength, b.prefixLength);
  const m = maskOf(p);
  return ((a.base & m) >>> 0) === ((b.base & m) >>> 0);
}
