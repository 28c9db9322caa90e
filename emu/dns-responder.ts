/**
 * One sandbox's embedded DNS server in emu: a process started (by emu/dns.ts) inside the
 * sandbox's namespace, holding dockerd's two sockets there, UDP and TCP on 127.0.0.11 at the
 * ports the model gave the resolver (the ports the sandbox's DNAT and SNAT rules name), and
 * answering every message with serveDns (sim/model/resolver.ts), sim's own server, from the
 * DnsView the run keeps in a file. The file is read for each message, so an answer always
 * comes from the world of the step that asks; a file that is gone (the run was cleaned up)
 * answers nothing, as dockerd does not for a sandbox it no longer serves.
 *
 * argv: DNS_MARK, the run's prefix, the view file, the address, the UDP port, the TCP port,
 * and `inherited` when the two sockets are bound already and given as fds 3 (UDP) and 4 (TCP)
 * (socket activation by the namespace worker, nsworker.ts: a run starts its responder only
 * once something asks). The first two are how a run's teardown tells its responder (clean.ts);
 * one whose run is gone is found by the run's mark in its environment.
 *
 * A question Docker does not own is forwarded as ServeDNS forwards it (the process is in the
 * sandbox's namespace already, where ExecFunc dials): to the view's external servers in
 * turn, each from a UDP socket connected to it, waited for EXT_DNS_TIMEOUT_MS; the first
 * reply goes back to the asker (its bytes as they came: dockerd packs it again, compressed),
 * and when none comes the asker gets nothing. Over TCP the
 * resolver dials TCP; a lab has no server to reach, and that is not modelled here: a TCP
 * question Docker does not own is left unanswered, with no packet sent.
 *
 * TCP as miekg/dns v1.1.27 serves it: each message after its two-byte length, a reply
 * likewise; the first message within 2 s of the connection, each next within 8 s of the
 * last (ReadTimeout, IdleTimeout), at most 128 per connection (maxTCPQueries).
 */
import * as dgram from 'dgram';
import * as fs from 'fs';
import * as net from 'net';
import { DnsView, EXT_DNS_TIMEOUT_MS, MAX_CONCURRENT_FORWARDS, RESOLVER_TCP_BACKLOG, serveDns, serveDnsOutcome } from '../sim/model/resolver';

const TCP_FIRST_READ_MS = 2000;
const TCP_IDLE_MS = 8000;
const TCP_MAX_QUERIES = 128;
const TCP_LENGTH_BYTES = 2;

const [, , , , viewFile, address, udpPort, tcpPort, sockets] = process.argv;
/** The fds of the sockets bound before this process started (socket activation). */
const INHERITED = { udp: 3, tcp: 4 };

function currentView(): DnsView | undefined {
  try {
    return JSON.parse(fs.readFileSync(viewFile, 'utf8')) as DnsView;
  } catch {
    return undefined;
  }
}

const DNS_PORT = 53;
/** Forwarded queries outstanding (the resolver's count, forwardQueryStart). */
let forwardsOutstanding = 0;

/**
 * Asks each server in turn, from a socket connected to it: a server the connect fails for
 * (no route) is passed over at once, as is every server while MAX_CONCURRENT_FORWARDS wait;
 * one asked is waited for EXT_DNS_TIMEOUT_MS, or until the socket reports an error (a port
 * unreachable). `relay` takes the first reply.
 */
function forward(query: Buffer, servers: string[], relay: (reply: Buffer) => void): void {
  const server = servers[0];
  if (server === undefined) return;
  const next = () => forward(query, servers.slice(1), relay);
  if (forwardsOutstanding >= MAX_CONCURRENT_FORWARDS) return next();
  const socket = dgram.createSocket('udp4');
  let waiting = true;
  let timer: NodeJS.Timeout | undefined;
  const done = (then?: () => void) => {
    if (!waiting) return;
    waiting = false;
    if (timer) {
      clearTimeout(timer);
      forwardsOutstanding--;
    }
    socket.close();
    then?.();
  };
  socket.on('error', () => done(next));
  socket.on('message', (reply) => done(() => relay(reply)));
  // Given a callback, a failed connect is reported to it, not as an 'error'.
  socket.connect(DNS_PORT, server, (err?: Error) => {
    if (err) return done(next);
    forwardsOutstanding++;
    timer = setTimeout(() => done(next), EXT_DNS_TIMEOUT_MS);
    socket.send(query);
  });
}

function serveTcp(conn: net.Socket): void {
  let pending = Buffer.alloc(0);
  let served = 0;
  conn.setTimeout(TCP_FIRST_READ_MS, () => conn.destroy());
  conn.on('error', () => conn.destroy());
  conn.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= TCP_LENGTH_BYTES) {
      const length = pending.readUInt16BE(0);
      if (length === 0) return void conn.destroy();
      if (pending.length < TCP_LENGTH_BYTES + length) return;
      const msg = pending.subarray(TCP_LENGTH_BYTES, TCP_LENGTH_BYTES + length);
      pending = pending.subarray(TCP_LENGTH_BYTES + length);
      const reply = serveDns(currentView(), msg, 'tcp');
      if (reply) {
        const head = Buffer.alloc(TCP_LENGTH_BYTES);
        head.writeUInt16BE(reply.length);
        conn.write(Buffer.concat([head, reply]));
      }
      if (++served >= TCP_MAX_QUERIES) return void conn.end();
      conn.setTimeout(TCP_IDLE_MS);
    }
  });
}

function main(): void {
  let pending = 2;
  const bound = () => {
    if (--pending === 0) process.stdout.write('ready\n');
  };
  const fail = (e: Error) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  };
  const udp = dgram.createSocket('udp4');
  udp.on('error', fail);
  udp.on('message', (msg, from) => {
    const outcome = serveDnsOutcome(currentView(), msg, 'udp');
    // A reply the kernel refuses to send is lost, as a datagram is: the asker times out.
    const answer = (reply: Buffer) => udp.send(reply, from.port, from.address, () => undefined);
    if (outcome.reply) answer(outcome.reply);
    else if (outcome.forward) forward(Buffer.from(outcome.forward.query), outcome.forward.servers, answer);
  });
  const server = net.createServer(serveTcp).on('error', fail);
  if (sockets === 'inherited') {
    udp.bind({ fd: INHERITED.udp }, bound);
    server.listen({ fd: INHERITED.tcp }, bound);
  } else {
    udp.bind(Number(udpPort), address, bound);
    server.listen({ host: address, port: Number(tcpPort), backlog: RESOLVER_TCP_BACKLOG }, bound);
  }
}

main();
