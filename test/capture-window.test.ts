/**
 * A traced ping's window (emu/capture.ts hopsFrom): only frames from the moment just before
 * the ping was spawned are read, and an ARP exchange is the flow's only when the ping's
 * packet waited on it: its question in the window, asked before the flow's first packet that
 * way at that capture point, and answered.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { eth, echo, ip } from './helpers/frames';
import { CapturePoint, hopsFrom } from '../emu/capture';
import { pathOf } from '../sim/trace/paths';
import '../sim/drivers';
import { PcapWriter } from '../sim/pcap/writer';
import { emitArp, ARP_REPLY, ARP_REQUEST } from '../sim/wire/arp';
import { emitEthernet, ETHERTYPE_ARP } from '../sim/wire/ethernet';
import { IPPROTO_ICMP } from '../sim/wire/ipv4';

// A container pinging an address past its gateway: its ARP for the gateway is no exchange between the flow's ends.
const C1 = '02:42:0a:00:00:02', GW = '02:42:c3:5a:11:01', C1_IP = '10.0.0.2', GW_IP = '10.0.0.1', DST = '10.0.1.9';
const SINCE = 1_700_000_000_000_000_000n, START = SINCE - 2_000_000_000n, MS = 1_000_000n, S = 1_000_000_000n;

const askGateway = (dst = 'ff:ff:ff:ff:ff:ff') => emitEthernet({ src: C1, dst, ethertype: ETHERTYPE_ARP },
  emitArp({ opcode: ARP_REQUEST, senderMac: C1, senderIp: C1_IP, targetMac: dst === GW ? GW : '00:00:00:00:00:00', targetIp: GW_IP }));
const gatewayAnswers = () => emitEthernet({ src: GW, dst: C1, ethertype: ETHERTYPE_ARP },
  emitArp({ opcode: ARP_REPLY, senderMac: GW, senderIp: GW_IP, targetMac: C1, targetIp: C1_IP }));
const echoRequest = (seq: number) => eth(C1, GW, ip(C1_IP, DST, IPPROTO_ICMP), echo(8, seq));
const echoReply = (seq: number) => eth(GW, C1, ip(DST, C1_IP, IPPROTO_ICMP), echo(0, seq));

/** The hops of the frames (each at its time) captured at the container's eth0. */
async function hopsOf(frames: [bigint, Buffer][]): Promise<{ event: string; at: bigint }[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-window-'));
  const w = new PcapWriter('nano');
  for (const [t, f] of frames) w.add(t, f);
  const file = path.join(dir, 'c1.pcap');
  w.writeFile(file);
  const point: CapturePoint = { host: 'r0', netns: 'c1', device: 'eth0', realNetns: 'c1', iface: 'eth0', role: 'container', mine: [C1], file };
  const hops = await hopsFrom(pathOf({ path: 'bridge' }), [point], { src: C1_IP, dst: DST }, START, SINCE);
  fs.rmSync(dir, { recursive: true, force: true });
  return hops.map((h) => ({ event: h.event, at: START + BigInt(h.timeNs) }));
}

describe("a traced ping's window", () => {
  it('an exchange asked before the window is no hop, and its answer inside it neither', async () => {
    const hops = await hopsOf([
      [SINCE - MS, askGateway()],
      [SINCE + 1000n, gatewayAnswers()],
      [SINCE + 2000n, echoRequest(1)],
      [SINCE + 3000n, echoReply(1)],
    ]);
    expect(hops).toEqual([{ event: 'send', at: SINCE + 2000n }, { event: 'deliver', at: SINCE + 3000n }]);
  });

  it('an exchange from the window\'s first nanosecond that the first packet waited on is the flow\'s; a DELAY probe later in the ping is not', async () => {
    const hops = await hopsOf([
      [SINCE, askGateway()],
      [SINCE + 1000n, gatewayAnswers()],
      [SINCE + 2000n, echoRequest(1)],
      [SINCE + 3000n, echoReply(1)],
      [SINCE + S, echoRequest(2)],
      [SINCE + S + 1000n, echoReply(2)],
      // The entry went DELAY with the second packet, which left at once: its unicast probe holds no packet back.
      [SINCE + S + 100n * 1000n, askGateway(GW)],
      [SINCE + S + 200n * 1000n, gatewayAnswers()],
      [SINCE + 2n * S, echoRequest(3)],
    ]);
    expect(hops).toEqual([
      { event: 'arp-request', at: SINCE }, { event: 'arp-reply', at: SINCE + 1000n },
      { event: 'send', at: SINCE + 2000n }, { event: 'deliver', at: SINCE + 3000n },
      { event: 'send', at: SINCE + S }, { event: 'deliver', at: SINCE + S + 1000n },
      { event: 'send', at: SINCE + 2n * S },
    ]);
  });
});
