/**
 * iproute2 6.1's `ip route add|del` (iproute_modify): its reading of the words and its
 * texts, the kernel's answers (net/ipv4/fib.ts) as iproute2 prints them: the extack
 * message as `Error: …`, else `RTNETLINK answers: …`, exit 2.
 */
import type { SimNetns } from './objects';
import { numberToIpv4 } from '../wire/addr';
import { CONNECTED_ROUTE_DEL_REFUSAL, ROUTE_NOT_MODELLED, ROUTE_OTHER_TYPES } from '../commands/ip-change-words';
import { dottedAddress, err, INCOMPLETE, NOT_PERMITTED, Output, unmodelledWords } from './iproute_utils';
import { CONNECTED_ROUTE, FibConfig, FibError, fibTableDelete, fibTableInsert } from './net/ipv4/fib';

/** rt_protos: the names iproute2 reads and prints (/etc/iproute2/rt_protos and its built-in table). */
const PROTOCOLS: Record<string, number> = { redirect: 1, kernel: 2, boot: 3, static: 4, gated: 8, ra: 9, mrt: 10, zebra: 11, bird: 12, dnrouted: 13, xorp: 14, ntk: 15, dhcp: 16, keepalived: 18, babel: 42, openr: 99, bgp: 186, isis: 187, ospf: 188, rip: 189, eigrp: 192 };
const PROTOCOL_NAMES = new Map(Object.entries(PROTOCOLS).map(([name, n]) => [n, name]));

/** get_prefix: `default`, or ADDRESS[/LENGTH] (a host's /32 when no length is given). */
function prefix(word: string): { dst: number; prefixLength: number } | undefined {
  if (word === 'default' || word === 'all' || word === 'any') return { dst: 0, prefixLength: 0 };
  const [address, length, more] = word.split('/');
  const dst = dottedAddress(address);
  if (dst === undefined || more !== undefined) return undefined;
  if (length === undefined) return { dst, prefixLength: 32 };
  if (!/^(0|[1-9]\d?)$/.test(length) || Number(length) > 32) return undefined;
  return { dst, prefixLength: Number(length) };
}

/** The kernel's refusal as iproute2 prints it (its extack message, else the errno's text). */
function kernelError(e: FibError): Output {
  return err(e.extack ? `Error: ${e.extack}.\n` : `RTNETLINK answers: ${e.errno}\n`, 2);
}

/** `ip route add|del ROUTE` in `ns`: `verb` is the word typed (add, del, delete); `netAdmin`: whether ip holds CAP_NET_ADMIN. */
export function routeModify(ns: SimNetns, verb: 'add' | 'del', argv: string[], netAdmin: boolean): Output {
  const notModelled = (word: string) => unmodelledWords(`cnmlab: ip route ${verb} … ${word}: not modelled (a prefix, via, dev, onlink, proto and the blackhole type are)\n`);
  let dst: { dst: number; prefixLength: number } | undefined;
  let type: FibConfig['type'];
  let via: string | undefined;
  let devName: string | undefined;
  let onlink = false;
  let inetPrefix = false;
  let proto: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i];
    const value = (): string | undefined => argv[++i];
    if (w === 'via') {
      if (via !== undefined) return err('Error: argument "via" is wrong: use nexthop syntax to specify multiple via\n\n', 255);
      let v = value();
      // The family is known once given (`via inet`) or once a prefix with an address is read (`default` has none); before, get_addr names none.
      const familyGiven = v === 'inet' || inetPrefix;
      if (v === 'inet') v = value();
      if (v === undefined) return err(INCOMPLETE, 255);
      const gw = dottedAddress(v);
      if (gw === undefined) return err(`Error: ${familyGiven ? 'inet' : 'any valid'} address is expected rather than "${v}".\n`, 1);
      via = numberToIpv4(gw);
    } else if (w === 'dev' || w === 'oif') {
      const v = value();
      if (v === undefined) return err(INCOMPLETE, 255);
      devName = v;
    } else if (w === 'onlink') {
      onlink = true;
    } else if (w === 'proto' || w === 'protocol') {
      const v = value();
      if (v === undefined) return err(INCOMPLETE, 255);
      const n = /^\d+$/.test(v) ? Number(v) : PROTOCOLS[v];
      if (n === undefined || n > 255) return err(`Error: argument "${v}" is wrong: "protocol" value is invalid\n\n`, 255);
      proto = PROTOCOL_NAMES.get(n) ?? String(n);
    } else if (ROUTE_NOT_MODELLED.includes(w) || ROUTE_OTHER_TYPES.includes(w)) {
      return notModelled(w);
    } else if (dst === undefined && (w === 'unicast' || w === 'blackhole')) {
      type = w;
    } else {
      const word = w === 'to' ? value() : w;
      if (word === undefined) return err(INCOMPLETE, 255);
      if (dst !== undefined) return err(`Error: either "to" is duplicate, or "${word}" is a garbage.\n`, 255);
      dst = prefix(word);
      inetPrefix = !['default', 'all', 'any'].includes(word);
      if (dst === undefined) return err(`Error: any valid prefix is expected rather than "${word}".\n`, 1);
    }
  }
  if (dst === undefined) return err(ROUTE_USAGE, 255);
  const dev = devName === undefined ? undefined : ns.links.get(devName);
  if (devName !== undefined && dev === undefined) return err(`Cannot find device "${devName}"\n`, 1);
  if (!netAdmin) return NOT_PERMITTED();
  const cfg: FibConfig = { ...dst, type, via, dev, onlink, proto };
  if (verb === 'add') {
    // iproute2 asks for boot when no protocol is given, which it does not print.
    const e = fibTableInsert(ns, { ...cfg, proto: proto === 'boot' ? undefined : proto });
    return e ? kernelError(e) : { stdout: '', stderr: '', exitCode: 0 };
  }
  const e = fibTableDelete(ns, cfg);
  if (e === CONNECTED_ROUTE) return unmodelledWords(CONNECTED_ROUTE_DEL_REFUSAL);
  return e ? kernelError(e) : { stdout: '', stderr: '', exitCode: 0 };
}

/** iproute2 6.1's usage of `ip route` (iproute.c usage()), printed on stderr when a command lacks its prefix, exit 255. */
const ROUTE_USAGE = [
  'Usage: ip route { list | flush } SELECTOR',
  '       ip route save SELECTOR',
  '       ip route restore',
  '       ip route showdump',
  '       ip route get [ ROUTE_GET_FLAGS ] ADDRESS',
  '                            [ from ADDRESS iif STRING ]',
  '                            [ oif STRING ] [ tos TOS ]',
  '                            [ mark NUMBER ] [ vrf NAME ]',
  '                            [ uid NUMBER ] [ ipproto PROTOCOL ]',
  '                            [ sport NUMBER ] [ dport NUMBER ]',
  '       ip route { add | del | change | append | replace } ROUTE',
  'SELECTOR := [ root PREFIX ] [ match PREFIX ] [ exact PREFIX ]',
  '            [ table TABLE_ID ] [ vrf NAME ] [ proto RTPROTO ]',
  '            [ type TYPE ] [ scope SCOPE ]',
  'ROUTE := NODE_SPEC [ INFO_SPEC ]',
  'NODE_SPEC := [ TYPE ] PREFIX [ tos TOS ]',
  '             [ table TABLE_ID ] [ proto RTPROTO ]',
  '             [ scope SCOPE ] [ metric METRIC ]',
  '             [ ttl-propagate { enabled | disabled } ]',
  'INFO_SPEC := { NH | nhid ID } OPTIONS FLAGS [ nexthop NH ]...',
  'NH := [ encap ENCAPTYPE ENCAPHDR ] [ via [ FAMILY ] ADDRESS ]',
  '      [ dev STRING ] [ weight NUMBER ] NHFLAGS',
  'FAMILY := [ inet | inet6 | mpls | bridge | link ]',
  'OPTIONS := FLAGS [ mtu NUMBER ] [ advmss NUMBER ] [ as [ to ] ADDRESS ]',
  '           [ rtt TIME ] [ rttvar TIME ] [ reordering NUMBER ]',
  '           [ window NUMBER ] [ cwnd NUMBER ] [ initcwnd NUMBER ]',
  '           [ ssthresh NUMBER ] [ realms REALM ] [ src ADDRESS ]',
  '           [ rto_min TIME ] [ hoplimit NUMBER ] [ initrwnd NUMBER ]',
  '           [ features FEATURES ] [ quickack BOOL ] [ congctl NAME ]',
  '           [ pref PREF ] [ expires TIME ] [ fastopen_no_cookie BOOL ]',
  'TYPE := { unicast | local | broadcast | multicast | throw |',
  '          unreachable | prohibit | blackhole | nat }',
  'TABLE_ID := [ local | main | default | all | NUMBER ]',
  'SCOPE := [ host | link | global | NUMBER ]',
  'NHFLAGS := [ onlink | pervasive ]',
  'RTPROTO := [ kernel | boot | static | NUMBER ]',
  'PREF := [ low | medium | high ]',
  'TIME := NUMBER[s|ms]',
  'BOOL := [1|0]',
  'FEATURES := ecn',
  'ENCAPTYPE := [ mpls | ip | ip6 | seg6 | seg6local | rpl | ioam6 | xfrm ]',
  'ENCAPHDR := [ MPLSLABEL | SEG6HDR | SEG6LOCAL | IOAM6HDR | XFRMINFO ]',
  'SEG6HDR := [ mode SEGMODE ] segs ADDR1,ADDRi,ADDRn [hmac HMACKEYID] [cleanup]',
  'SEGMODE := [ encap | encap.red | inline | l2encap | l2encap.red ]',
  'SEG6LOCAL := action ACTION [ OPTIONS ] [ count ]',
  'ACTION := { End | End.X | End.T | End.DX2 | End.DX6 | End.DX4 |',
  '            End.DT6 | End.DT4 | End.DT46 | End.B6 | End.B6.Encaps |',
  '            End.BM | End.S | End.AS | End.AM | End.BPF }',
  'OPTIONS := OPTION [ OPTIONS ]',
  'OPTION := { flavors FLAVORS | srh SEG6HDR | nh4 ADDR | nh6 ADDR | iif DEV | oif DEV |',
  '            table TABLEID | vrftable TABLEID | endpoint PROGNAME }',
  'FLAVORS := { FLAVOR[,FLAVOR] }',
  'FLAVOR := { psp | usp | usd | next-csid }',
  'IOAM6HDR := trace prealloc type IOAM6_TRACE_TYPE ns IOAM6_NAMESPACE size IOAM6_TRACE_SIZE',
  'XFRMINFO := if_id IF_ID [ link_dev LINK ]',
  'ROUTE_GET_FLAGS := [ fibmatch ]',
].join('\n') + '\n';
