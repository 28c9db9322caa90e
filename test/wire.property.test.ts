import fc from 'fast-check';
import { emitEthernet, parseEthernet } from '../sim/wire/ethernet';
import { emitSll, parseSll, parseSll2 } from '../sim/wire/sll';
import { emitArp, parseArp } from '../sim/wire/arp';
import { emitIpv4, Ipv4Repr, ipv4PacketChecksumOk, parseIpv4 } from '../sim/wire/ipv4';
import { checksumValid } from '../sim/wire/checksum';
import { emitIcmp, IcmpRepr, parseIcmp } from '../sim/wire/icmp';
import { emitUdp, parseUdp } from '../sim/wire/udp';
import { emitTcp, parseTcp } from '../sim/wire/tcp';
import { emitVxlan, parseVxlan } from '../sim/wire/vxlan';
import { DnsRepr, emitDns, parseDns } from '../sim/wire/dns';
import { dissect, LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2 } from '../sim/wire/dissect';
import { ipv4ToNumber, ipv4ToString, macToString, numberToIpv4 } from '../sim/wire/addr';

const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':'));
const ip = fc.nat(0xffffffff).map(numberToIpv4);
const u16 = fc.nat(0xffff);
const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b));

function ok<R>(p: { ok: true; repr: R; payload: Buffer } | { ok: false; error: string }): { repr: R; payload: Buffer } {
  if (!p.ok) throw new Error(p.error);
  return p;
}

describe('emit then parse is the identity', () => {
  test('ethernet', () => {
    fc.assert(fc.property(mac, mac, u16, bytes(100), (dst, src, ethertype, payload) => {
      const p = ok(parseEthernet(emitEthernet({ dst, src, ethertype }, payload)));
      expect(p.repr).toEqual({ dst, src, ethertype });
      expect(p.payload.equals(payload)).toBe(true);
    }));
  });

  test('linux cooked v1 and v2', () => {
    fc.assert(fc.property(fc.constantFrom(1 as const, 2 as const), fc.nat(4), mac, u16, fc.nat(0xffffffff), bytes(60), (version, pktType, src, protocol, ifIndex, payload) => {
      const repr = { version, pktType, haType: 1, haLen: 6, src, protocol, ...(version === 2 ? { ifIndex } : {}) };
      const b = emitSll(repr, payload);
      const p = ok(version === 1 ? parseSll(b) : parseSll2(b));
      expect(p.repr).toEqual(repr);
      expect(p.payload.equals(payload)).toBe(true);
    }));
  });

  test('arp', () => {
    fc.assert(fc.property(fc.constantFrom(1, 2), mac, ip, mac, ip, (opcode, senderMac, senderIp, targetMac, targetIp) => {
      const repr = { opcode, senderMac, senderIp, targetMac, targetIp };
      expect(ok(parseArp(emitArp(repr))).repr).toEqual(repr);
    }));
  });

  const ipv4Repr: fc.Arbitrary<Ipv4Repr> = fc.record({
    src: ip, dst: ip, protocol: fc.nat(255), ttl: fc.nat(255), id: u16, tos: fc.nat(255),
    dontFragment: fc.boolean(), moreFragments: fc.boolean(), fragmentOffset: fc.nat(0x1fff).map((x) => x * 8),
    options: fc.nat(10).map((n) => Buffer.alloc(n * 4, 1)),
  });

  test('ipv4 with options and fragment fields; the checksum verifies', () => {
    fc.assert(fc.property(ipv4Repr, bytes(200), (repr, payload) => {
      const b = emitIpv4(repr, payload);
      const p = ok(parseIpv4(b));
      const { headerLength, totalLength, checksum, checksumOk, ...plain } = p.repr;
      expect(plain).toEqual(repr);
      expect(checksumOk).toBe(true);
      expect(totalLength).toBe(b.length);
      expect(headerLength + payload.length).toBe(b.length);
      expect(checksum).toBe(b.readUInt16BE(10));
      expect(p.payload.equals(payload)).toBe(true);
    }));
  });

  test('ipv4 without options (the datapath\'s writer sums the checksum from the fields): the header parses back whole and its checksum verifies', () => {
    fc.assert(fc.property(ipv4Repr.map((r) => ({ ...r, options: Buffer.alloc(0) })), bytes(200), (repr, payload) => {
      const b = emitIpv4(repr, payload);
      const p = ok(parseIpv4(b));
      const { headerLength, totalLength, checksum, checksumOk, ...plain } = p.repr;
      expect(plain).toEqual(repr);
      expect([headerLength, totalLength, checksumOk]).toEqual([20, b.length, true]);
      expect(checksum).toBe(internetChecksumWithZeroField(b));
    }), { numRuns: 500 });
  });

  test('a received header\'s checksum check (word by word when option-less) agrees with the general sum: any bytes, anywhere in a frame; a written header passes, one with a flipped bit does not', () => {
    fc.assert(fc.property(bytes(40), fc.uint8Array({ minLength: 60, maxLength: 60 }), fc.nat(5), (before, header, words) => {
      header[0] = 0x40 | (5 + words);
      const b = Buffer.concat([before, header]);
      expect(ipv4PacketChecksumOk(b, before.length)).toBe(checksumValid(b, before.length, before.length + 20 + 4 * words));
    }), { numRuns: 500 });
    fc.assert(fc.property(ipv4Repr.map((r) => ({ ...r, options: Buffer.alloc(0) })), bytes(40), fc.nat(159), (repr, before, bit) => {
      const b = Buffer.concat([before, emitIpv4(repr, Buffer.alloc(0))]);
      expect(ipv4PacketChecksumOk(b, before.length)).toBe(true);
      b[before.length + (bit >> 3)] ^= 1 << (bit & 7);
      expect(ipv4PacketChecksumOk(b, before.length)).toBe(false);
    }), { numRuns: 500 });
  });

  test('ipv4 read in place after other bytes (a frame\'s IP layer) parses as the datagram alone', () => {
    fc.assert(fc.property(ipv4Repr, bytes(200), bytes(40), (repr, payload, before) => {
      const datagram = emitIpv4(repr, payload);
      const alone = ok(parseIpv4(datagram));
      const inPlace = ok(parseIpv4(Buffer.concat([before, datagram]), before.length));
      expect(inPlace.repr).toEqual(alone.repr);
      expect(inPlace.payload.equals(alone.payload)).toBe(true);
    }));
  });

  const icmpRepr: fc.Arbitrary<IcmpRepr> = fc.oneof(
    fc.record({ kind: fc.constant('echo' as const), type: fc.constantFrom(0 as const, 8 as const), code: fc.constant(0), ident: u16, seq: u16, data: bytes(64) }),
    fc.record({ kind: fc.constant('unreachable' as const), type: fc.constant(3 as const), code: fc.nat(15), mtu: u16, quoted: bytes(64) }),
    fc.record({ kind: fc.constant('time-exceeded' as const), type: fc.constant(11 as const), code: fc.nat(1), quoted: bytes(64) }),
    fc.record({ kind: fc.constant('other' as const), type: fc.constantFrom(4, 5, 13, 14, 40), code: fc.nat(255), rest: fc.nat(0xffffffff), data: bytes(32) }),
  );

  test('icmp; the checksum verifies', () => {
    fc.assert(fc.property(icmpRepr, (repr) => {
      const p = ok(parseIcmp(emitIcmp(repr)));
      const { checksum, checksumOk, ...plain } = p.repr;
      expect(plain).toEqual(repr);
      expect(checksumOk).toBe(true);
    }));
  });

  test('udp with and without the pseudo-header checksum', () => {
    fc.assert(fc.property(u16, u16, bytes(200), ip, ip, fc.boolean(), (srcPort, dstPort, payload, src, dst, withSum) => {
      const ph = withSum ? { src, dst } : undefined;
      const b = emitUdp({ srcPort, dstPort }, payload, ph);
      const p = ok(parseUdp(b, { src, dst }));
      expect(p.repr.srcPort).toBe(srcPort);
      expect(p.repr.dstPort).toBe(dstPort);
      expect(p.repr.length).toBe(b.length);
      expect(p.repr.checksumOk).toBe(withSum ? true : undefined);
      expect(p.payload.equals(payload)).toBe(true);
    }));
  });

  test('tcp header', () => {
    fc.assert(fc.property(u16, u16, fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(0x1ff), u16, u16, fc.nat(10), bytes(50), ip, ip,
      (srcPort, dstPort, seq, ack, flags, window, urgent, optWords, payload, src, dst) => {
        const repr = { srcPort, dstPort, seq, ack, flags, window, urgent, options: Buffer.alloc(optWords * 4, 1) };
        const p = ok(parseTcp(emitTcp(repr, payload, { src, dst })));
        const { headerLength, checksum, ...plain } = p.repr;
        expect(plain).toEqual(repr);
        expect(p.payload.equals(payload)).toBe(true);
      }));
  });

  test('vxlan, the GBP flag and policy id kept', () => {
    fc.assert(fc.property(fc.constantFrom(0x0800, 0x8800, 0x0000), u16, fc.nat(0xffffff), bytes(80), (flags, groupPolicyId, vni, payload) => {
      const repr = { flags, groupPolicyId, vni };
      const p = ok(parseVxlan(emitVxlan(repr, payload)));
      expect(p.repr).toEqual(repr);
      expect(p.payload.equals(payload)).toBe(true);
    }));
  });

  const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,14}$/);
  const dnsRepr: fc.Arbitrary<DnsRepr> = fc.record({
    id: u16,
    flags: fc.constantFrom(0x0100, 0x8180, 0x8183, 0x8580),
    questions: fc.array(fc.record({ name: fc.array(label, { minLength: 1, maxLength: 3 }).map((l) => l.join('.')), type: fc.constantFrom('A', 'AAAA', 'PTR') }), { minLength: 1, maxLength: 1 }),
    answers: fc.array(fc.oneof(
      fc.record({ name: label, type: fc.constant('A'), ttl: fc.nat(86400), data: ip }),
      fc.record({ name: label, type: fc.constant('PTR'), ttl: fc.nat(86400), data: fc.array(label, { minLength: 1, maxLength: 3 }).map((l) => l.join('.')) }),
    ), { maxLength: 4 }),
  });

  test('dns', () => {
    fc.assert(fc.property(dnsRepr, (repr) => {
      expect(ok(parseDns(emitDns(repr))).repr).toEqual(repr);
    }));
  });
});

describe('parse never throws on random bytes', () => {
  const parsers: [string, (b: Buffer) => unknown][] = [
    ['ethernet', parseEthernet], ['sll', parseSll], ['sll2', parseSll2], ['arp', parseArp], ['ipv4', parseIpv4],
    ['icmp', parseIcmp], ['udp', parseUdp], ['tcp', parseTcp], ['vxlan', parseVxlan], ['dns', parseDns],
  ];
  test.each(parsers)('%s', (_name, parse) => {
    fc.assert(fc.property(bytes(120), (b) => {
      const r = parse(b) as { ok: boolean; error?: string };
      expect(typeof r.ok).toBe('boolean');
      if (!r.ok) expect(r.error).toMatch(/\S/);
    }), { numRuns: 500 });
  });

  test.each([LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2])('dissect on link type %i', (linktype) => {
    fc.assert(fc.property(bytes(200), (b) => {
      const layers = dissect(b, linktype);
      for (const l of layers) expect(typeof l.proto).toBe('string');
    }), { numRuns: 1000 });
  });

  test('dissect on valid headers with random tails reaches the inner layers without throwing', () => {
    const head = emitEthernet({ dst: '02:42:0a:00:01:04', src: '02:42:0a:00:01:02', ethertype: 0x0800 }, Buffer.alloc(0));
    fc.assert(fc.property(bytes(120), (tail) => {
      const layers = dissect(Buffer.concat([head, tail]), LINKTYPE_ETHERNET);
      expect(layers[0].proto).toBe('eth');
    }), { numRuns: 1000 });
  });
});

describe('address conversions answer the same whatever was converted before them (their table of recent ones)', () => {
  test('runs of addresses, repeated and colliding in the table, convert both ways as written; a malformed one still throws', () => {
    fc.assert(fc.property(fc.array(fc.nat(0xffffffff), { minLength: 1, maxLength: 300 }), (ns) => {
      for (const n of [...ns, ...ns.reverse()]) {
        const text = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
        expect(ipv4ToNumber(text)).toBe(n);
        expect(ipv4ToString(Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255))).toBe(text);
      }
    }));
    ipv4ToNumber('0.0.0.0');
    for (const bad of ['', '0', '1.2.3', '256.0.0.0', '0.0.0.0 ']) expect(() => ipv4ToNumber(bad)).toThrow('not an IPv4 address');
  });

  test('runs of MACs, repeated, colliding in the table and differing only in their first two bytes, format as written wherever they sit in a frame', () => {
    const macs = fc.array(fc.uint8Array({ minLength: 6, maxLength: 6 }), { minLength: 1, maxLength: 300 });
    fc.assert(fc.property(macs, fc.nat(8), (ms, offset) => {
      // Each address also with other first bytes: the table's slot is found from all six.
      const all = ms.flatMap((m) => [m, Uint8Array.of(m[0] ^ 1, ...m.subarray(1)), Uint8Array.of(m[0], m[1] ^ 0x80, ...m.subarray(2))]);
      for (const m of [...all, ...all.reverse()]) {
        const frame = new Uint8Array(offset + 6);
        frame.set(m, offset);
        expect(macToString(frame, offset)).toBe(Array.from(m, (x) => x.toString(16).padStart(2, '0')).join(':'));
      }
    }));
  });
});

/** The header's checksum computed over its bytes with the checksum field taken as zero (RFC 791's rule), independently of the writer. */
function internetChecksumWithZeroField(b: Buffer): number {
  const h = Buffer.from(b.subarray(0, 20));
  h.writeUInt16BE(0, 10);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += h.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
