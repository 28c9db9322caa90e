/**
 * A container sandbox's DNS rules (libnetwork's setupIPTable: DOCKER_OUTPUT's DNAT to the
 * embedded resolver's ports, DOCKER_POSTROUTING's SNAT back from them) as the one nf_tables
 * batch iptables-nft sends the kernel for their `iptables-restore --noflush` input, so the
 * namespace worker can send it itself (nsworker.ts, `nftables` jobs) instead of starting an
 * iptables-restore per container. The kernel then holds the same objects, message for
 * message, and `iptables -S` or `iptables-save` there print Docker's rules as they would.
 *
 * Only the few line shapes Docker writes in a sandbox are spoken, with their chains,
 * addresses and ports as parameters; any other input is left to iptables-restore. So is a
 * machine whose iptables is not iptables-nft (then its rules are not nf_tables objects), or
 * an iptables-nft older than the one whose batch this is (iptablesSendsNatBatch).
 * The batch differs from iptables-nft's in two points that change nothing when it applies:
 * its first table message is exclusive, so the kernel refuses the whole batch in a namespace
 * that already has a nat table (where iptables-nft would read that table first and send
 * less), and it carries no generation id (iptables-nft's check that no other writer came
 * between its reading and its writing: this batch reads nothing).
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const NLM_F_REQUEST = 0x1;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const NFNL_SUBSYS_NFTABLES = 10;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;
const NFT_MSG_NEWTABLE = 0;
const NFT_MSG_NEWCHAIN = 3;
const NFT_MSG_NEWRULE = 6;
const AF_UNSPEC = 0;
const AF_INET = 2;
const NLA_F_NESTED = 0x8000;
const NFT_JUMP = -3;
const NF_ACCEPT = 1;
const NFT_REG_VERDICT = 0;
const NFT_REG_1 = 1;
const NFT_PAYLOAD_NETWORK_HEADER = 1;
const NFT_PAYLOAD_TRANSPORT_HEADER = 2;
const NFT_META_L4PROTO = 16;
const NFT_CMP_EQ = 0;
const NF_NAT_RANGE_MAP_IPS = 1;
const NF_NAT_RANGE_PROTO_SPECIFIED = 2;
const IPPROTO = { tcp: 6, udp: 17 } as const;

/** nat's built-in chains: their hook and priority, as iptables-nft makes one before a rule first goes in it. */
const NAT_HOOKS: Record<string, { hook: number; priority: number }> = {
  PREROUTING: { hook: 0, priority: -100 },
  INPUT: { hook: 1, priority: 100 },
  OUTPUT: { hook: 3, priority: -100 },
  POSTROUTING: { hook: 4, priority: 100 },
};

const LE = os.endianness() === 'LE';

/**
 * nfnetlink messages written into one buffer as they are made, not each attribute into a
 * buffer of its own and copied into its parent's: an attribute's or message's length is
 * filled in once what it holds is written (`open`, `close`).
 */
class NetlinkWriter {
  private buffer = Buffer.alloc(4096);
  private length = 0;

  /** Room for `n` more bytes, zeroed (nothing written is ever taken back): where they start. */
  private reserve(n: number): number {
    const at = this.length;
    if (at + n > this.buffer.length) {
      const grown = Buffer.alloc(Math.max(2 * this.buffer.length, at + n));
      this.buffer.copy(grown, 0, 0, at);
      this.buffer = grown;
    }
    this.length = at + n;
    return at;
  }

  // Numbers are written byte by byte: Buffer's writeUInt16LE and kin check their arguments at every call, and a
  // container's batch is a few hundred of them, written before V8 has optimised any of it.
  private host16At(at: number, n: number): void {
    const b = this.buffer;
    b[at + (LE ? 0 : 1)] = n & 0xff;
    b[at + (LE ? 1 : 0)] = (n >>> 8) & 0xff;
  }

  private host32At(at: number, n: number): void {
    if (LE) this.le32At(at, n);
    else this.be32At(at, n);
  }

  private le32At(at: number, n: number): void {
    const b = this.buffer;
    b[at] = n & 0xff;
    b[at + 1] = (n >>> 8) & 0xff;
    b[at + 2] = (n >>> 16) & 0xff;
    b[at + 3] = (n >>> 24) & 0xff;
  }

  /** A 32-bit number in network order; a negative one (a verdict) as its two's complement. */
  private be32At(at: number, n: number): void {
    const b = this.buffer;
    b[at] = (n >>> 24) & 0xff;
    b[at + 1] = (n >>> 16) & 0xff;
    b[at + 2] = (n >>> 8) & 0xff;
    b[at + 3] = n & 0xff;
  }

  private be16At(at: number, n: number): void {
    this.buffer[at] = (n >>> 8) & 0xff;
    this.buffer[at + 1] = n & 0xff;
  }

  host32(n: number): void {
    this.host32At(this.reserve(4), n);
  }

  be16(n: number): void {
    this.be16At(this.reserve(2), n);
  }

  be32(n: number): void {
    this.be32At(this.reserve(4), n);
  }

  bytes(values: readonly number[]): void {
    const at = this.reserve(values.length);
    for (let i = 0; i < values.length; i++) this.buffer[at + i] = values[i];
  }

  zeros(n: number): void {
    this.reserve(n);
  }

  /** A string with its NUL. */
  text(s: string): void {
    this.buffer.write(s, this.reserve(s.length + 1), 'ascii');
  }

  /** Opens an attribute of this type; what follows until `close` is its data. */
  open(type: number): number {
    const at = this.reserve(4);
    this.host16At(at + 2, type);
    return at;
  }

  /** Closes the attribute opened at `at`: its length (without the padding), then its data padded to 4 bytes. */
  close(at: number): void {
    const length = this.length - at;
    // nla_len is 16 bits: a longer attribute cannot be said, and written it would wrap into a wrong one.
    if (length > 0xffff) throw new RangeError(`netlink attribute of ${length} bytes: nla_len holds at most 65535`);
    this.host16At(at, length);
    this.reserve((4 - (length % 4)) % 4);
  }

  /** Opens one nfnetlink message: nlmsghdr (host order) and nfgenmsg (its resource id in network order); `endMessage` gives its length. */
  message(type: number, flags: number, seq: number, family: number, resId: number): number {
    const at = this.reserve(20);
    this.host16At(at + 4, type);
    this.host16At(at + 6, flags);
    this.host32At(at + 8, seq);
    this.buffer[at + 16] = family;
    this.be16At(at + 18, resId);
    return at;
  }

  endMessage(at: number): void {
    this.host32At(at, this.length - at);
  }

  /** What was written, in a buffer of its own size. */
  written(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.length));
  }
}

const ipv4 = (a: string) => a.split('.').map(Number);
const be16Bytes = (n: number) => [n >> 8, n & 0xff];

/** An attribute holding a 32-bit number in network order. */
function be32Attr(w: NetlinkWriter, type: number, n: number): void {
  const at = w.open(type);
  w.be32(n);
  w.close(at);
}

function textAttr(w: NetlinkWriter, type: number, s: string): void {
  const at = w.open(type);
  w.text(s);
  w.close(at);
}

/** An expression of a rule (NFTA_LIST_ELEM): its name and its attributes, written when the rule is. */
type Expression = (w: NetlinkWriter) => void;

function expression(name: string, data: Expression): Expression {
  return (w) => {
    const elem = w.open(1 | NLA_F_NESTED);
    textAttr(w, 1, name);
    const at = w.open(2 | NLA_F_NESTED);
    data(w);
    w.close(at);
    w.close(elem);
  };
}

const payload = (base: number, offset: number, length: number) => expression('payload', (w) => {
  be32Attr(w, 1, NFT_REG_1);
  be32Attr(w, 2, base);
  be32Attr(w, 3, offset);
  be32Attr(w, 4, length);
});
const equals = (value: readonly number[]) => expression('cmp', (w) => {
  be32Attr(w, 1, NFT_REG_1);
  be32Attr(w, 2, NFT_CMP_EQ);
  const data = w.open(3 | NLA_F_NESTED);
  const at = w.open(1);
  w.bytes(value);
  w.close(at);
  w.close(data);
});
const l4proto = () => expression('meta', (w) => {
  be32Attr(w, 2, NFT_META_L4PROTO);
  be32Attr(w, 1, NFT_REG_1);
});
const counter = () => expression('counter', (w) => {
  for (const type of [1, 2]) {
    const at = w.open(type);
    w.zeros(8);
    w.close(at);
  }
});
const jump = (chain: string) => expression('immediate', (w) => {
  be32Attr(w, 1, NFT_REG_VERDICT);
  const data = w.open(2 | NLA_F_NESTED);
  const verdict = w.open(2 | NLA_F_NESTED);
  be32Attr(w, 1, NFT_JUMP);
  textAttr(w, 2, chain);
  w.close(verdict);
  w.close(data);
});

/** An xtables target through nft_compat, its info the struct its kernel module reads (`size` bytes), padded to 8 bytes (XT_ALIGN). */
function target(name: string, revision: number, size: number, info: Expression): Expression {
  return expression('target', (w) => {
    textAttr(w, 1, name);
    be32Attr(w, 2, revision);
    const at = w.open(3);
    info(w);
    w.zeros((8 - (size % 8)) % 8);
    w.close(at);
  });
}

/** DNAT revision 2 (struct nf_nat_range2) to one address and port. */
function dnat(address: string, port: number): Expression {
  const inetAddr = (w: NetlinkWriter) => {
    w.bytes(ipv4(address));
    w.zeros(12);
  };
  return target('DNAT', 2, 42, (w) => {
    w.host32(NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED);
    inetAddr(w);
    inetAddr(w);
    w.be16(port);
    w.be16(port);
    w.be16(0);
  });
}

/** SNAT revision 0 (struct nf_nat_ipv4_multi_range_compat, one range) to a port only. */
function snatPort(port: number): Expression {
  return target('SNAT', 0, 20, (w) => {
    w.host32(1);
    w.host32(NF_NAT_RANGE_PROTO_SPECIFIED);
    w.zeros(8);
    w.be16(port);
    w.be16(port);
  });
}

const CHAIN = '[A-Za-z0-9_-]{1,28}';
const ADDRESS = '(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(?:\\.(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}';
const PORT = '[1-9][0-9]{0,4}';
const NEW_CHAIN = new RegExp(`^-N (${CHAIN})$`);
const JUMP = new RegExp(`^-I (${CHAIN}) -d (${ADDRESS}) -j (${CHAIN})$`);
const DNAT = new RegExp(`^-I (${CHAIN}) -d (${ADDRESS}) -p (udp|tcp) --dport (${PORT}) -j DNAT --to-destination (${ADDRESS}):(${PORT})$`);
const SNAT = new RegExp(`^-I (${CHAIN}) -s (${ADDRESS}) -p (udp|tcp) --sport (${PORT}) -j SNAT --to-source :(${PORT})$`);

/**
 * The batch for a `*nat` … `COMMIT` input of those lines (restoreScript's form), or
 * undefined for anything else. Each line is what iptables-nft makes of it: the table
 * (again before each line), a built-in chain before the first rule in it, a rule inserted
 * at the chain's head (-I), its matches as native expressions, a counter, then the verdict.
 */
export function natBatch(rules: string): Buffer | undefined {
  const lines = rules.split('\n');
  if (lines[0] !== '*nat' || lines[lines.length - 2] !== 'COMMIT' || lines[lines.length - 1] !== '') return undefined;
  const w = new NetlinkWriter();
  w.endMessage(w.message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 1, AF_UNSPEC, NFNL_SUBSYS_NFTABLES));
  let sent = 0;
  const made = new Set<string>();
  // The chains the batch's -N lines made: the only ones a rule can jump to, the table being new (its first message is
  // exclusive). A standard target (-j ACCEPT, RETURN, MASQUERADE…) or any other chain is left to iptables-restore.
  const newChains = new Set<string>();
  // Each message opens with its header and the table's name; `body` writes the rest.
  const send = (type: number, flags: number, body: () => void) => {
    const at = w.message((NFNL_SUBSYS_NFTABLES << 8) | type, NLM_F_REQUEST | flags, sent + 2, AF_INET, 0);
    sent++;
    textAttr(w, 1, 'nat');
    body();
    w.endMessage(at);
  };
  const rule = (chain: string, proto: number, expressions: Expression[]) => {
    const hook = NAT_HOOKS[chain];
    if (hook && !made.has(chain)) {
      made.add(chain);
      send(NFT_MSG_NEWCHAIN, NLM_F_CREATE, () => {
        textAttr(w, 3, chain);
        const at = w.open(4 | NLA_F_NESTED);
        be32Attr(w, 1, hook.hook);
        be32Attr(w, 2, hook.priority);
        w.close(at);
        be32Attr(w, 5, NF_ACCEPT);
        textAttr(w, 7, 'nat');
      });
    }
    send(NFT_MSG_NEWRULE, NLM_F_CREATE, () => {
      textAttr(w, 2, chain);
      const list = w.open(4 | NLA_F_NESTED);
      for (const e of expressions) e(w);
      w.close(list);
      // NFTA_RULE_COMPAT: the rule's -p, as iptables-nft keeps it for its own reading.
      const compat = w.open(5 | NLA_F_NESTED);
      be32Attr(w, 1, proto);
      be32Attr(w, 2, 0);
      w.close(compat);
    });
  };
  for (const line of lines.slice(1, -2)) {
    // The first table message alone is exclusive: a namespace that has a nat table already takes no part of the batch.
    send(NFT_MSG_NEWTABLE, NLM_F_CREATE | (sent === 0 ? NLM_F_EXCL : 0), () => undefined);
    let m: RegExpExecArray | null;
    if ((m = NEW_CHAIN.exec(line)) && !NAT_HOOKS[m[1]]) {
      const chain = m[1];
      newChains.add(chain);
      send(NFT_MSG_NEWCHAIN, NLM_F_EXCL, () => textAttr(w, 3, chain));
    } else if ((m = JUMP.exec(line)) && newChains.has(m[3])) {
      rule(m[1], 0, [payload(NFT_PAYLOAD_NETWORK_HEADER, 16, 4), equals(ipv4(m[2])), counter(), jump(m[3])]);
    } else if ((m = DNAT.exec(line)) && Number(m[4]) <= 65535 && Number(m[6]) <= 65535) {
      const proto = IPPROTO[m[3] as 'udp' | 'tcp'];
      rule(m[1], proto, [l4proto(), equals([proto]), payload(NFT_PAYLOAD_NETWORK_HEADER, 16, 4), equals(ipv4(m[2])), payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2), equals(be16Bytes(Number(m[4]))), counter(), dnat(m[5], Number(m[6]))]);
    } else if ((m = SNAT.exec(line)) && Number(m[4]) <= 65535 && Number(m[5]) <= 65535) {
      const proto = IPPROTO[m[3] as 'udp' | 'tcp'];
      rule(m[1], proto, [l4proto(), equals([proto]), payload(NFT_PAYLOAD_NETWORK_HEADER, 12, 4), equals(ipv4(m[2])), payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2), equals(be16Bytes(Number(m[4]))), counter(), snatPort(Number(m[5]))]);
    } else {
      return undefined;
    }
  }
  if (sent === 0) return undefined;
  w.endMessage(w.message(NFNL_MSG_BATCH_END, NLM_F_REQUEST, sent + 2, AF_UNSPEC, NFNL_SUBSYS_NFTABLES));
  return w.written();
}

let nftBased: Promise<boolean> | undefined;

/** The oldest iptables-nft whose batch for these lines is natBatch's: ports as native payload expressions, as 1.8.9 sends them. */
const OLDEST_SAME_BATCH = [1, 8, 9];

/**
 * Whether `iptables-restore --version` names an iptables-nft (`(nf_tables)`) at least as new
 * as OLDEST_SAME_BATCH: an older one sends other objects for the same lines (its
 * `iptables -S` may print the batch's rules otherwise), a legacy one keeps no nf_tables objects.
 */
export function versionSpeaksBatch(version: string): boolean {
  const m = /^iptables-restore v(\d+)\.(\d+)\.(\d+)\b.*\(nf_tables\)/m.exec(version);
  if (!m) return false;
  const have = m.slice(1, 4).map(Number);
  const at = have.findIndex((n, i) => n !== OLDEST_SAME_BATCH[i]);
  return at < 0 || have[at] > OLDEST_SAME_BATCH[at];
}

/**
 * Whether the machine's iptables-restore is an iptables-nft whose rules natBatch makes as it
 * does (versionSpeaksBatch): asked once, by its --version, for the whole run. Asked without
 * waiting (the run asks once a step has rules to set): a process start that stopped
 * cnmlab's event loop would hold up every namespace's work behind it.
 */
export function iptablesSendsNatBatch(): Promise<boolean> {
  nftBased ??= new Promise((resolve) => {
    const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin'].filter(Boolean);
    const found = dirs.map((d) => path.join(d, 'iptables-restore')).find((f) => fs.existsSync(f));
    if (found === undefined) return resolve(false);
    execFile(found, ['--version'], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, timeout: 5000 }, (error, stdout) => resolve(!error && versionSpeaksBatch(stdout)));
  });
  return nftBased;
}
