/**
 * Weave Net's sleeve router in emu. Weave's own router is a Go program Debian does not
 * package; what its sleeve datapath does to packets is small, so emu runs it as a Perl
 * program (perl-base is in every Debian), one per scenario host that ran `weave launch`,
 * in the host's namespace, with the configuration the plan gives (`weave.router`):
 *
 * - it captures on vethwe-pcap with a packet socket (as weaver does with pcap, inbound
 *   only: what it injects itself comes back as PACKET_OUTGOING and is skipped);
 * - its MAC cache: a captured frame's source is local, a received frame's source is at the
 *   peer that captured it; a frame for a MAC seen at a peer goes to that peer, anything
 *   else to every peer;
 * - it sends each frame alone behind the sleeve header (its own name; the frame's source
 *   and destination peer names and length) to the peer's UDP 6783: a frame with DF through
 *   a raw socket with IP_PMTUDISC_DO and no UDP checksum (weave's udpSenderDF), any other
 *   through its UDP socket with IP_PMTUDISC_DONT;
 * - it injects a frame a peer sent it on vethwe-pcap.
 *
 * The mesh's TCP 6783 (gossip) is not spoken: the peers are the plan's. The router is
 * restarted with a new configuration when its peers change (its MAC cache is learnt again).
 */
import { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { WeaveRouterConfig } from '../sim/plan/ops';
import { RunRecord } from './state';
import { startDaemon } from './daemon';
import { EmuProgram, registerEmuProgram, TakenOp } from './programs';

/** argv[1] of a router: how `cnmlab clean` recognises one of ours (clean.ts). */
export const WEAVER_MARK = 'cnmlab-weaver';

const SCRIPT = String.raw`
use strict; use warnings; use Socket qw(:DEFAULT IPPROTO_IP IPPROTO_UDP);
my (undef, $conf) = @ARGV;
my ($me, $port, $dev, %peer);
open(my $f, '<', $conf) or die "$conf: $!\n";
while (<$f>) { my @w = split; if ($w[0] eq 'me') { ($me, $port, $dev) = @w[1 .. 3] } elsif ($w[0] eq 'peer') { $peer{$w[1]} = $w[2] } }
close $f;
sub bin { pack 'H12', join '', split /:/, shift } sub mac { join ':', unpack '(H2)6', shift }
my $mebin = bin($me);
my %macs;
open(my $ix, '<', "/sys/class/net/$dev/ifindex") or die "$dev: $!\n"; my $ifindex = <$ix>; chomp $ifindex; close $ix;
my $all = unpack('S', pack('n', 3));
socket(my $pk, 17, SOCK_RAW, $all) or die "packet socket: $!\n";
bind($pk, pack('S n i S C C a8', 17, 3, $ifindex, 0, 0, 0, '')) or die "bind $dev: $!\n";
socket(my $u, PF_INET, SOCK_DGRAM, IPPROTO_UDP) or die "udp: $!\n";
setsockopt($u, IPPROTO_IP, 10, 0) or die "IP_MTU_DISCOVER: $!\n";
bind($u, pack_sockaddr_in($port, INADDR_ANY)) or die "bind $port: $!\n";
socket(my $r, PF_INET, SOCK_RAW, IPPROTO_UDP) or die "raw: $!\n";
setsockopt($r, IPPROTO_IP, 10, 2) or die "IP_MTU_DISCOVER: $!\n";
$| = 1; print "ready\n";
sub forward {
  my ($frame, $to) = @_;
  my $addr = $peer{$to} or return;
  my $msg = $mebin . $mebin . bin($to) . pack('n', length $frame) . $frame;
  my $df = substr($frame, 12, 2) eq "\x08\x00" && (ord(substr($frame, 20, 1)) & 0x40);
  if ($df) { send($r, pack('n n n n', $port, $port, 8 + length $msg, 0) . $msg, 0, pack_sockaddr_in(0, inet_aton($addr))) }
  else { send($u, $msg, 0, pack_sockaddr_in($port, inet_aton($addr))) }
}
my $bits = ''; vec($bits, fileno($_), 1) = 1 for $pk, $u, $r;
while (1) {
  select(my $ready = $bits, undef, undef, undef) > 0 or next;
  if (vec($ready, fileno($r), 1)) { recv($r, my $drop, 65535, 0) }
  if (vec($ready, fileno($pk), 1)) {
    my $from = recv($pk, my $frame, 65535, 0);
    my (undef, undef, undef, undef, $type) = unpack('S n i S C', $from);
    if ($type != 4 && length $frame >= 14) {
      my $src = mac(substr $frame, 6, 6); my $dst = mac(substr $frame, 0, 6);
      my $at = $macs{$src};
      if (!defined $at || $at eq $me) {
        $macs{$src} = $me;
        my $to = $dst eq 'ff:ff:ff:ff:ff:ff' ? undef : $macs{$dst};
        if ($dst ne '01:80:c2:00:00:00' && !(defined $to && $to eq $me)) { forward($frame, $_) for (defined $to ? ($to) : sort keys %peer) }
      }
    }
  }
  if (vec($ready, fileno($u), 1)) {
    recv($u, my $msg, 65535, 0);
    next if length $msg < 6 || !exists $peer{mac(substr $msg, 0, 6)};
    my $at = 6;
    while ($at + 14 <= length $msg) {
      my ($s, $d, $n) = (mac(substr $msg, $at, 6), mac(substr $msg, $at + 6, 6), unpack('n', substr $msg, $at + 12, 2));
      last if $at + 14 + $n > length $msg;
      my $frame = substr $msg, $at + 14, $n;
      $at += 14 + $n;
      next if $d ne $me;
      $macs{mac(substr $frame, 6, 6)} = $s;
      send($pk, $frame, 0);
    }
  }
}
`;

export class WeaveRouters implements EmuProgram {
  private readonly running = new Map<string, ChildProcess>();

  constructor(private readonly record: RunRecord) {}

  private get dir(): string {
    return path.join(this.record.dir, 'weave');
  }

  /** Starts the router in `netns` (real name) with `config`, or restarts it with new peers. */
  async startRouter(netns: string, config: WeaveRouterConfig): Promise<void> {
    this.stop(netns);
    fs.mkdirSync(this.dir, { recursive: true });
    const file = path.join(this.dir, `${netns}.conf`);
    fs.writeFileSync(file, [`me ${config.name} ${config.port} ${config.device}`, ...config.peers.map((p) => `peer ${p.name} ${p.address}`)].join('\n') + '\n');
    const child = await startDaemon(this.record, netns, {
      argv: ['perl', '-e', SCRIPT, WEAVER_MARK, file],
      failure: (code, stderr) => `weave's router in ${netns} exited ${code}: ${stderr.split('\n').pop() ?? ''}`,
    });
    this.running.set(netns, child);
  }

  /** A step's share: each router named starts, or restarts with its configuration; one named twice keeps only the step's last. */
  async configure(ops: TakenOp[]): Promise<void> {
    const last = new Map<string, WeaveRouterConfig>();
    for (const { netns, op } of ops) if (op.op === 'weave.router') last.set(netns, op.router);
    for (const [netns, router] of last) await this.startRouter(netns, router);
  }

  /** Nothing to wait for: a router is up once it has started (startDaemon), and finds its peers on its own. */
  async settle(): Promise<void> {}

  private stop(netns: string): void {
    const r = this.running.get(netns);
    if (!r?.pid) return;
    try {
      process.kill(r.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    this.record.forgetPid(r.pid);
    this.running.delete(netns);
  }

  /** Stops every router, at the end of the run. */
  stopAll(): void {
    for (const netns of [...this.running.keys()]) this.stop(netns);
  }
}

registerEmuProgram({ name: 'weaver', takes: (op) => op.op === 'weave.router', start: (record) => new WeaveRouters(record) }, { rank: 20 });
