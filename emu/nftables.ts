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
import { spawnSync } from 'child_process';
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

function host32(n: number): Buffer {
  const b = Buffer.alloc(4);
  if (LE) b.writeUInt32LE(n);
  else b.writeUInt32BE(n);
  return b;
}

function be32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function be16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

const text = (s: string) => Buffer.from(`${s}\0`, 'ascii');
const ipv4 = (a: string) => Buffer.from(a.split('.').map(Number));

/** A netlink attribute: its length (without the padding), its type, its data padded to 4 bytes. */
function attr(type: number, data: Buffer): Buffer {
  const head = Buffer.alloc(4);
  const length = 4 + data.length;
  if (LE) {
    head.writeUInt16LE(length, 0);
    head.writeUInt16LE(type, 2);
  } else {
    head.writeUInt16BE(length, 0);
    head.writeUInt16BE(type, 2);
  }
  return Buffer.concat([head, data, Buffer.alloc((4 - (length % 4)) % 4)]);
}

const nested = (type: number, ...attrs: Buffer[]) => attr(type | NLA_F_NESTED, Buffer.concat(attrs));

/** One nfnetlink message: nlmsghdr (host order), nfgenmsg (its resource id in network order), then the body. */
function message(type: number, flags: number, seq: number, family: number, resId: number, body: Buffer): Buffer {
  const head = Buffer.alloc(20);
  const length = 20 + body.length;
  if (LE) {
    head.writeUInt32LE(length, 0);
    head.writeUInt16LE(type, 4);
    head.writeUInt16LE(flags, 6);
    head.writeUInt32LE(seq, 8);
  } else {
    head.writeUInt32BE(length, 0);
    head.writeUInt16BE(type, 4);
    head.writeUInt16BE(flags, 6);
    head.writeUInt32BE(seq, 8);
  }
  head.writeUInt8(family, 16);
  head.writeUInt16BE(resId, 18);
  return Buffer.concat([head, body]);
}

/** An expression of a rule (NFTA_LIST_ELEM): its name and its attributes. */
const expression = (name: string, ...data: Buffer[]) => nested(1, attr(1, text(name)), nested(2, ...data));
const payload = (base: number, offset: number, length: number) => expression('payload', attr(1, be32(NFT_REG_1)), attr(2, be32(base)), attr(3, be32(offset)), attr(4, be32(length)));
const equals = (value: Buffer) => expression('cmp', attr(1, be32(NFT_REG_1)), attr(2, be32(NFT_CMP_EQ)), nested(3, attr(1, value)));
const l4proto = () => expression('meta', attr(2, be32(NFT_META_L4PROTO)), attr(1, be32(NFT_REG_1)));
const counter = () => expression('counter', attr(1, Buffer.alloc(8)), attr(2, Buffer.alloc(8)));
const jump = (chain: string) => expression('immediate', attr(1, be32(NFT_REG_VERDICT)), nested(2, nested(2, attr(1, be32(NFT_JUMP)), attr(2, text(chain)))));
/** An xtables target through nft_compat, its info the struct its kernel module reads, padded to 8 bytes (XT_ALIGN). */
function target(name: string, revision: number, info: Buffer): Buffer {
  return expression('target', attr(1, text(name)), attr(2, be32(revision)), attr(3, Buffer.concat([info, Buffer.alloc((8 - (info.length % 8)) % 8)])));
}

/** DNAT revision 2 (struct nf_nat_range2) to one address and port. */
function dnat(address: string, port: number): Buffer {
  const inetAddr = Buffer.concat([ipv4(address), Buffer.alloc(12)]);
  return target('DNAT', 2, Buffer.concat([host32(NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED), inetAddr, inetAddr, be16(port), be16(port), be16(0)]));
}

/** SNAT revision 0 (struct nf_nat_ipv4_multi_range_compat, one range) to a port only. */
function snatPort(port: number): Buffer {
  return target('SNAT', 0, Buffer.concat([host32(1), host32(NF_NAT_RANGE_PROTO_SPECIFIED), Buffer.alloc(8), be16(port), be16(port)]));
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
  const messages: Buffer[] = [];
  const made = new Set<string>();
  // The chains the batch's -N lines made: the only ones a rule can jump to, the table being new (its first message is
  // exclusive). A standard target (-j ACCEPT, RETURN, MASQUERADE…) or any other chain is left to iptables-restore.
  const newChains = new Set<string>();
  const send = (type: number, flags: number, body: Buffer) => messages.push(message((NFNL_SUBSYS_NFTABLES << 8) | type, NLM_F_REQUEST | flags, messages.length + 2, AF_INET, 0, body));
  const table = attr(1, text('nat'));
  const rule = (chain: string, proto: number, expressions: Buffer[]) => {
    const hook = NAT_HOOKS[chain];
    if (hook && !made.has(chain)) {
      made.add(chain);
      send(NFT_MSG_NEWCHAIN, NLM_F_CREATE, Buffer.concat([table, attr(3, text(chain)), nested(4, attr(1, be32(hook.hook)), attr(2, be32(hook.priority))), attr(5, be32(NF_ACCEPT)), attr(7, text('nat'))]));
    }
    // NFTA_RULE_COMPAT: the rule's -p, as iptables-nft keeps it for its own reading.
    send(NFT_MSG_NEWRULE, NLM_F_CREATE, Buffer.concat([table, attr(2, text(chain)), nested(4, ...expressions), nested(5, attr(1, be32(proto)), attr(2, be32(0)))]));
  };
  for (const line of lines.slice(1, -2)) {
    // The first table message alone is exclusive: a namespace that has a nat table already takes no part of the batch.
    send(NFT_MSG_NEWTABLE, NLM_F_CREATE | (messages.length === 0 ? NLM_F_EXCL : 0), table);
    let m: RegExpExecArray | null;
    if ((m = NEW_CHAIN.exec(line)) && !NAT_HOOKS[m[1]]) {
      newChains.add(m[1]);
      send(NFT_MSG_NEWCHAIN, NLM_F_EXCL, Buffer.concat([table, attr(3, text(m[1]))]));
    } else if ((m = JUMP.exec(line)) && newChains.has(m[3])) {
      rule(m[1], 0, [payload(NFT_PAYLOAD_NETWORK_HEADER, 16, 4), equals(ipv4(m[2])), counter(), jump(m[3])]);
    } else if ((m = DNAT.exec(line)) && Number(m[4]) <= 65535 && Number(m[6]) <= 65535) {
      const proto = IPPROTO[m[3] as 'udp' | 'tcp'];
      rule(m[1], proto, [l4proto(), equals(Buffer.from([proto])), payload(NFT_PAYLOAD_NETWORK_HEADER, 16, 4), equals(ipv4(m[2])), payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2), equals(be16(Number(m[4]))), counter(), dnat(m[5], Number(m[6]))]);
    } else if ((m = SNAT.exec(line)) && Number(m[4]) <= 65535 && Number(m[5]) <= 65535) {
      const proto = IPPROTO[m[3] as 'udp' | 'tcp'];
      rule(m[1], proto, [l4proto(), equals(Buffer.from([proto])), payload(NFT_PAYLOAD_NETWORK_HEADER, 12, 4), equals(ipv4(m[2])), payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2), equals(be16(Number(m[4]))), counter(), snatPort(Number(m[5]))]);
    } else {
      return undefined;
    }
  }
  if (messages.length === 0) return undefined;
  const begin = message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 1, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, Buffer.alloc(0));
  const end = message(NFNL_MSG_BATCH_END, NLM_F_REQUEST, messages.length + 2, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, Buffer.alloc(0));
  return Buffer.concat([begin, ...messages, end]);
}

let nftBased: boolean | undefined;

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
 * does (versionSpeaksBatch): asked once, by its --version, for the whole run.
 */
export function iptablesSendsNatBatch(): boolean {
  if (nftBased === undefined) {
    const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin'].filter(Boolean);
    const found = dirs.map((d) => path.join(d, 'iptables-restore')).find((f) => fs.existsSync(f));
    const version = found === undefined ? undefined : spawnSync(found, ['--version'], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, timeout: 5000 });
    nftBased = version !== undefined && version.status === 0 && versionSpeaksBatch(version.stdout);
  }
  return nftBased;
}
