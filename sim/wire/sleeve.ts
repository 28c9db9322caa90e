/**
 * Weave Net's sleeve overlay (weaveworks/weave router/sleeve.go, frame_crypto.go's
 * NonEncryptor): one UDP datagram to port 6783 carries the sending router's peer name, then
 * one or more frames, each behind its capturing peer's name, its destination peer's name and
 * its length. A peer name is 6 bytes (mesh.NameSize: a MAC). Without encryption nothing
 * else is added: 6 bytes a datagram, 14 a frame. Wireshark has no dissector for it.
 */
import { macToString } from './addr';
import { be16, putBe16 } from './bytes';
import { fail, Parsed } from './layer';

export const SLEEVE_PORT = 6783;
/** mesh.NameSize: a peer name is a MAC address. */
export const PEER_NAME_LEN = 6;
/** What each frame adds: its source and destination peer names and its length. */
export const SLEEVE_FRAME_OVERHEAD = PEER_NAME_LEN + PEER_NAME_LEN + 2;

export interface SleeveFrame {
  /** The peer that captured the frame (its name, as a MAC). */
  srcPeer: string;
  /** The peer it is for; on a broadcast, the next hop it is sent to. */
  dstPeer: string;
  frame: Buffer;
}

export interface SleeveRepr {
  /** The router that sent the datagram (its forwarder's peer). */
  sender: string;
  frames: SleeveFrame[];
}

export function parseSleeve(b: Buffer): Parsed<SleeveRepr> {
  if (b.length < PEER_NAME_LEN) return fail(`sleeve: ${b.length} bytes, the sender's name needs ${PEER_NAME_LEN}`);
  const frames: SleeveFrame[] = [];
  let at = PEER_NAME_LEN;
  while (at < b.length) {
    if (b.length - at < SLEEVE_FRAME_OVERHEAD) return fail(`sleeve: frame header at ${at} cut short (${b.length - at} of ${SLEEVE_FRAME_OVERHEAD} bytes)`);
    const length = be16(b, at + 2 * PEER_NAME_LEN);
    const start = at + SLEEVE_FRAME_OVERHEAD;
    if (start + length > b.length) return fail(`sleeve: frame at ${at} says ${length} bytes, ${b.length - start} follow`);
    frames.push({ srcPeer: macToString(b, at), dstPeer: macToString(b, at + PEER_NAME_LEN), frame: b.subarray(start, start + length) });
    at = start + length;
  }
  return { ok: true, repr: { sender: macToString(b, 0), frames }, headerLength: PEER_NAME_LEN, payload: b.subarray(PEER_NAME_LEN) };
}

export function emitSleeve(r: SleeveRepr): Buffer {
  const length = PEER_NAME_LEN + r.frames.reduce((n, f) => n + SLEEVE_FRAME_OVERHEAD + f.frame.length, 0);
  const b = Buffer.alloc(length);
  putMac(b, 0, r.sender);
  let at = PEER_NAME_LEN;
  for (const f of r.frames) {
    putMac(b, at, f.srcPeer);
    putMac(b, at + PEER_NAME_LEN, f.dstPeer);
    putBe16(b, at + 2 * PEER_NAME_LEN, f.frame.length);
    b.set(f.frame, at + SLEEVE_FRAME_OVERHEAD);
    at += SLEEVE_FRAME_OVERHEAD + f.frame.length;
  }
  return b;
}

function putMac(b: Buffer, at: number, mac: string): void {
  mac.split(':').forEach((byte, i) => (b[at + i] = parseInt(byte, 16)));
}
