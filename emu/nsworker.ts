/**
 * Work inside the run's namespaces without a process chain per namespace. One Perl process
 * (perl-base, which every Debian has) serves the whole cnmlab process: for each job it enters
 * the job's network namespace (setns on /run/netns/NAME), writes the job's sysctls to
 * /proc/sys itself (files under /proc/sys/net are those of the opener's network namespace),
 * starts the job's program there (a fork inherits its parent's namespace) and goes back to
 * its own namespace; it feeds the program its input and reports its exit code and output
 * when it exits, several programs running at once.
 *
 * What it saves, per namespace: `nsenter` and `sh` (the sysctls were a shell's writes), the
 * mount namespace `ip -n NS` makes for each process (it unshares one to remount /sys, which
 * neither `ip -batch` nor iptables-restore reads for what emu asks of them), and the files
 * each batch was written to: creating a file is the costliest thing a job did on a busy ext4.
 * The programs themselves (ip, bridge, iptables-restore) are the same, with the same input,
 * but for the few batches whose kernel requests the worker sends itself (ip_requests; a
 * sandbox's DNS rules, nftables.ts), with no program at all.
 * It forks once per program and never per job: a fork of Perl costs more than a small program.
 *
 * Safety (emu/confine.ts's rule: nothing outside the run's own namespaces): the worker enters
 * only a namespace named as emu names them (`cnm` + six hex digits + `.`) and refuses any
 * sysctl key that could leave /proc/sys. A job with no namespace runs in the worker's own,
 * the machine's, with no sysctls: `ip netns add` and `del` of the run's namespaces, which
 * would otherwise each cost a fork of cnmlab's Node. It reads its jobs from its stdin and ends when that
 * closes, so it dies with cnmlab, also after kill -9; a run that closes ends it (when no
 * other run of the same process still uses it) and waits for it, so a cnmlab process has
 * reaped every program it started before it exits.
 */
import { ChildProcess, spawn } from 'child_process';
import * as os from 'os';

/**
 * The system calls emu's Perl makes by number (Perl's syscall()) on this machine: setns(2), on the architectures Linux
 * gives one; sendmsg(2) on the 64-bit ones whose msghdr listeners.ts's socket supplier packs.
 */
export const SYSCALLS: { setns?: number; sendmsg?: number } = ({
  x64: { setns: 308, sendmsg: 46 },
  arm64: { setns: 268, sendmsg: 211 },
  riscv64: { setns: 268, sendmsg: 211 },
  ia32: { setns: 346 },
  arm: { setns: 375 },
  ppc64: { setns: 350 },
  s390x: { setns: 339 },
} as Partial<Record<NodeJS.Architecture, { setns: number; sendmsg?: number }>>)[process.arch] ?? {};

/**
 * How emu's Perl (the worker here, listeners.ts's socket supplier) enters a namespace: `enter_netns(NAME)` sets the
 * process's network namespace to /run/netns/NAME (setns, whose number the script has in `$setns`) and returns undef,
 * or says why not. Only a name as emu makes them (`cnm` + six hex digits + `.`, `$emu_netns`) is entered: no input
 * takes either into a namespace that is not emu's (emu/confine.ts's rule). Placed after the script's `$setns` is
 * set and before it does anything.
 */
export const ENTER_NETNS = String.raw`
my $emu_netns = qr{cnm[0-9a-f]{6}\.[A-Za-z0-9_.:\@-]+};
sub enter_netns {
  my ($netns) = @_;
  return "refusing namespace $netns" unless $netns =~ m{^$emu_netns\z};
  open(my $ns, '<', "/run/netns/$netns") or return qq{Cannot open network namespace "$netns": $!};
  syscall($setns, fileno($ns), 0x40000000) == 0 or return qq{setting the network namespace "$netns" failed: $!};
  close($ns);
  return undef;
}
`;

/** Programs running at once: each is mostly its own start-up; twice the cores keeps them busy without thrashing. */
const PARALLEL_JOBS = Math.max(2, os.availableParallelism() * 2);

/**
 * The worker: one job a line on stdin (fields split by tabs: id, how it runs, namespace, its
 * sysctls as hex of `KEY VALUE` lines, the program's input as hex, then the program's argv,
 * if any); one `ID CODE OUTPUT` line on stdout when a job ends (OUTPUT: hex of what the
 * program wrote to stdout and stderr, or of the worker's own words when the namespace or a
 * sysctl could not be set, code 126). A program's end is seen as the end of its output (no
 * signal handling). A job that runs `watched` (a capture: it runs until it is told to stop)
 * reports its pid as soon as it is forked (`ID pid PID`) and its stderr as it comes
 * (`ID err HEX`; its stdout goes to /dev/null), and takes no place among the parallel jobs.
 * One that runs `activated` (socket activation) has its input name sockets to bind in its
 * namespace (`udp ADDRESS PORT` or `tcp ADDRESS PORT BACKLOG` lines), says `ID bound`, and
 * is started as a watched job once one of them is readable, with them as fds 3, 4 …; an
 * `unbind` line naming it (in the namespace's place) closes them if nothing woke it yet.
 * One that runs `links` starts no program: the worker lists the namespace's devices itself
 * (what `ip link show` asks the kernel), one `NAME FLAGS OPERSTATE` line each as its output.
 * One that runs `nftables` starts none either: its input is an nf_tables batch (nftables.ts),
 * which the worker sends the kernel in the namespace after its sysctls; code 1 and the
 * kernel's words when the kernel refused it (then it changed nothing), code 2 when the worker
 * could not talk to nf_tables (then the batch may have applied: NFTABLES_UNSURE).
 */
const SCRIPT = String.raw`
use strict;
use warnings;
use Fcntl qw(F_GETFL F_SETFL O_NONBLOCK);
use Errno qw(EAGAIN);
my ($setns, $parallel) = @ARGV;
${ENTER_NETNS}
$| = 1;
$SIG{PIPE} = 'IGNORE';
# Ctrl-C reaches the terminal's whole process group: the worker stays for cnmlab's teardown (its 'ip netns del'), and ends with its stdin.
$SIG{INT} = 'IGNORE';
open(my $home, '<', '/proc/self/ns/net') or die "the worker's own network namespace: $!\n";
my (@queue, %reading, %writing);
# Sockets bound for a program not started yet (socket activation), by file number, and their jobs by id.
my (%waking, %asleep);
my $input = '';
my $open = 1;
# Waited jobs that run now: a watched or activated one runs as long as it is wanted, and counts not.
my $running = 0;
while ($open || %reading || @queue) {
  start(@{shift @queue}) while @queue && ($queue[0][1] ne 'waited' || $running < $parallel);
  my ($rin, $win) = ('', '');
  vec($rin, fileno(STDIN), 1) = 1 if $open;
  vec($rin, $_, 1) = 1 for keys %reading, keys %waking;
  vec($win, $_, 1) = 1 for keys %writing;
  next if select(my $rout = $rin, my $wout = $win, undef, undef) < 0;
  for my $fd (keys %writing) {
    next unless vec($wout, $fd, 1);
    my $w = $writing{$fd};
    my $n = syswrite($w->[0], $w->[1]);
    next if !defined $n && $! == EAGAIN;
    substr($w->[1], 0, $n, '') if defined $n;
    # All written, or the program is gone without reading it all.
    next if defined $n && length $w->[1];
    close($w->[0]);
    delete $writing{$fd};
  }
  for my $fd (keys %waking) {
    my $job = $waking{$fd};
    next unless vec($rout, $fd, 1) && $asleep{$job->{id}};
    wake($job);
  }
  for my $fd (keys %reading) {
    next unless vec($rout, $fd, 1);
    my $job = $reading{$fd};
    if ($job->{watched}) {
      my $got = '';
      if (sysread($job->{out}, $got, 65536)) {
        print "$job->{id} err ", unpack('H*', $got), "\n";
        next;
      }
    } else {
      next if sysread($job->{out}, $job->{text}, 65536, length $job->{text});
      $running--;
    }
    close($job->{out});
    delete $reading{$fd};
    waitpid($job->{pid}, 0);
    report($job->{id}, $? & 127 ? 128 + ($? & 127) : $? >> 8, $job->{text});
  }
  next unless $open && vec($rout, fileno(STDIN), 1);
  $open = 0 unless sysread(STDIN, $input, 65536, length $input);
  while ((my $at = index($input, "\n")) >= 0) {
    my $line = substr($input, 0, $at + 1, '');
    chomp $line;
    push @queue, [split /\t/, $line, -1];
  }
}
# An 'ip [-force] -batch -' whose every line adds or deletes a namespace named as the run's are.
sub netns_batch {
  my ($input, @argv) = @_;
  return 0 unless "@argv" =~ /^ip (-force )?-batch -$/;
  return !grep { !/^netns (add|del) $emu_netns$/ } split /\n/, $input;
}
sub report {
  my ($id, $code, $text, $how) = @_;
  print "$id $code ", unpack('H*', $text), defined $how ? " $how\n" : "\n";
}
# An 'ip [-force] -batch -' whose every line is one of these, as translate.ts writes a container's: setting a device
# up, its name or its MAC, an IPv4 address with its broadcast, a default route via a gateway; and as it writes an
# overlay's: a port set up on its bridge, a peer's permanent neighbour entry. Or a 'bridge [-force] -batch -' of a
# peer's permanent forwarding entry on a VXLAN device. The worker sends their rtnetlink requests itself, the ones ip
# and bridge send for them (iplink_modify, ipaddr_modify, iproute_modify, ipneigh_modify, fdb_modify), and says what
# they would say of a failure; any other line and the whole batch is the program's. Returns the requests, or undef.
sub ip_requests {
  my ($input, @argv) = @_;
  return undef unless "@argv" =~ /^(ip|bridge) (-force )?-batch -$/;
  my $tool = $1;
  my $dev = qr{[A-Za-z0-9_.:\@-]{1,15}};
  my $ipv4 = qr{(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}};
  my $mac = qr{(?:[0-9a-f]{2}:){5}[0-9a-f]{2}};
  my @requests;
  for my $line (split /\n/, $input) {
    if ($tool eq 'bridge') {
      if ($line =~ m{^fdb replace ($mac) dev ($dev) dst ($ipv4) self permanent$}) { push @requests, ['fdb', $2, $1, $3] }
      else { return undef }
    }
    elsif ($line =~ m{^link set (?:dev ($dev)|(lo)) up$}) { push @requests, ['up', $1 // $2] }
    elsif ($line =~ m{^link set dev ($dev) name ($dev)$}) { push @requests, ['name', $1, $2] }
    elsif ($line =~ m{^link set dev ($dev) address ($mac)$}) { push @requests, ['address', $1, $2] }
    elsif ($line =~ m{^link set dev ($dev) master ($dev) up$}) { push @requests, ['master', $1, $2] }
    elsif ($line =~ m{^addr add ($ipv4)/([0-9]|[12][0-9]|3[0-2]) brd \+ dev ($dev)$}) { push @requests, ['addr', $3, $1, $2] }
    elsif ($line =~ m{^route add default via ($ipv4) dev ($dev)$}) { push @requests, ['route', $2, $1] }
    elsif ($line =~ m{^neigh replace ($ipv4) lladdr ($mac) dev ($dev) nud permanent$}) { push @requests, ['neigh', $3, $1, $2] }
    else { return undef }
  }
  return @requests ? \@requests : undef;
}
# The requests on one rtnetlink socket of the current namespace, one after another, each acknowledged before the next;
# a failure is told as ip tells it ('Command failed -:LINE'), and ends the batch unless forced. Returns (code, words).
sub netlink {
  my ($force, $requests) = @_;
  my ($nl, $error) = rtnetlink();
  return (1, $error) unless $nl;
  my ($code, $said) = (0, '');
  for my $at (0 .. $#$requests) {
    my $failure = request($nl, $at + 1, @{$requests->[$at]});
    # An argument ip finds wrong as it reads the line ends ip itself (invarg: exit 255), forced or not.
    if (ref $failure) {
      close($nl);
      return (255, $said . $$failure);
    }
    next if $failure eq '';
    ($code, $said) = (1, $said . $failure . 'Command failed -:' . ($at + 1) . "\n");
    last unless $force;
  }
  close($nl);
  return ($code, $said);
}
# An nf_tables batch (NFNL_MSG_BATCH_BEGIN to END, as nftables.ts builds it), sent whole on a NETLINK_NETFILTER socket
# of the current namespace: the kernel applies all of it or none, and answers only a message that failed. Then
# NFT_MSG_GETGEN with sequence 0 (the batch's messages number from 1), whose answer comes after whatever the kernel
# said of the batch. Returns (code, words): 0 and nothing when the batch applied, 1 and the kernel's words when the
# kernel refused it, 2 when talking to the kernel failed (socket, send, receive): then it may have applied.
sub nftables {
  my ($batch) = @_;
  # AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER; NETLINK_EXT_ACK for the kernel's own words.
  socket(my $nl, 16, 3, 12) or return (2, "Cannot open netlink socket: $!\n");
  setsockopt($nl, 270, 11, 1);
  my $kernel = pack('S S L L', 16, 0, 0, 0);
  # NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETGEN, NLM_F_REQUEST; AF_UNSPEC, NFNETLINK_V0.
  my $fence = pack('L S S L L C C n', 20, (10 << 8) | 16, 1, 0, 0, 0, 0, 0);
  defined send($nl, $batch, 0, $kernel) && defined send($nl, $fence, 0, $kernel) or return (2, "Cannot talk to nf_tables: $!\n");
  my $said = '';
  my ($ended, $error) = answers($nl, sub {
    my ($kind, $flags, $seq, $message) = @_;
    # NLMSG_ERROR: a message of the batch that failed, or the fence, if the kernel could not answer it (then
    # whether the batch applied is told only by its own messages' answers).
    $said .= failure($flags, $message) if $kind == 2 && $seq != 0;
    return undef unless $seq == 0;
    return [1, $said] if $said ne '';
    my $fence = $kind == 2 ? failure($flags, $message) : '';
    return $fence eq '' ? [0, ''] : [2, $fence];
  });
  close($nl);
  return $ended ? @$ended : (2, $error);
}
# The devices of the current namespace, as the kernel lists them to 'ip link show' (RTM_GETLINK, dumped): one
# 'NAME FLAGS OPERSTATE' line each, the ifinfomsg's flags and IFLA_OPERSTATE as numbers. Returns (code, text).
sub links {
  my ($nl, $error) = rtnetlink();
  return (1, $error) unless $nl;
  my $listed = '';
  # RTM_GETLINK, NLM_F_DUMP, with an empty ifinfomsg: every device.
  my $failure = converse($nl, 1, 18, 0x300, pack('C C S l L L', 0, 0, 0, 0, 0, 0), sub {
    my ($kind, $flags, $message) = @_;
    # NLMSG_DONE ends the dump; NLMSG_ERROR fails it.
    return '' if $kind == 3;
    return failure($flags, $message) if $kind == 2;
    return undef unless $kind == 16;
    my ($name, $operstate) = ('', 0);
    for (my $attr = 32; $attr + 4 <= length $message;) {
      my ($attributeLength, $attributeType) = unpack("x$attr S S", $message);
      last if $attributeLength < 4;
      my $data = substr($message, $attr + 4, $attributeLength - 4);
      # IFLA_IFNAME, IFLA_OPERSTATE.
      $name = unpack('Z*', $data) if ($attributeType & 0x3fff) == 3;
      $operstate = unpack('C', $data) if ($attributeType & 0x3fff) == 16;
      $attr += ($attributeLength + 3) & ~3;
    }
    $listed .= "$name " . unpack('x24 L', $message) . " $operstate\n";
    return undef;
  });
  close($nl);
  return $failure eq '' ? (0, $listed) : (1, $failure);
}
# An rtnetlink socket of the current namespace that asks for the kernel's own words for a failure (NETLINK_EXT_ACK, as
# ip asks for them); or (undef, why not).
sub rtnetlink {
  # AF_NETLINK, SOCK_RAW, NETLINK_ROUTE.
  socket(my $nl, 16, 3, 0) or return (undef, "Cannot open netlink socket: $!\n");
  setsockopt($nl, 270, 11, 1);
  return ($nl, undef);
}
# Sends the kernel one message (its type, flags besides NLM_F_REQUEST, and body) and hands each message answering it
# (its type, its flags, the whole message) to $each, until $each returns what it came to: '' when all went well,
# otherwise what failed, as ip says it. Returns that, or why the kernel could not be talked to.
sub converse {
  my ($nl, $seq, $type, $flags, $body, $each) = @_;
  my $message = pack('L S S L L', 16 + length $body, $type, 1 | $flags, $seq, 0) . $body;
  # To the kernel: a sockaddr_nl with port 0.
  defined send($nl, $message, 0, pack('S S L L', 16, 0, 0, 0)) or return "Cannot talk to rtnetlink: $!\n";
  my ($said, $error) = answers($nl, sub {
    my ($kind, $answerFlags, $answerSeq, $answer) = @_;
    return $answerSeq == $seq ? $each->($kind, $answerFlags, $answer) : undef;
  });
  return $said // $error;
}
# Reads the kernel's messages on the socket and hands each (its type, flags, sequence number, the whole message) to
# $each until $each returns something defined. Returns that, or (undef, why) when the socket could not be read.
sub answers {
  my ($nl, $each) = @_;
  while (1) {
    defined recv($nl, my $answer, 65536, 0) or return (undef, "netlink receive error $!\n");
    for (my $at = 0; $at + 16 <= length $answer;) {
      my ($length, $kind, $flags, $seq) = unpack("x$at L S S L", $answer);
      last if $length < 16;
      my $said = $each->($kind, $flags, $seq, substr($answer, $at, $length));
      return $said if defined $said;
      $at += ($length + 3) & ~3;
    }
  }
}
# What an NLMSG_ERROR message says: '' for an acknowledgement (error 0), otherwise the kernel's message when it gave
# one, or its errno, as ip says them.
sub failure {
  my ($flags, $message) = @_;
  my $error = unpack('x16 l', $message);
  return '' if $error == 0;
  # NLM_F_ACK_TLVS: attributes follow the request echoed (only its header when NLM_F_CAPPED); NLMSGERR_ATTR_MSG (1) is the kernel's message.
  if ($flags & 0x200) {
    my $at = 20 + ($flags & 0x100 ? 16 : unpack('x20 L', $message));
    while ($at + 4 <= length $message) {
      my ($attributeLength, $attributeType) = unpack("x$at S S", $message);
      last if $attributeLength < 4;
      if ($attributeType == 1) {
        my $text = unpack('Z*', substr($message, $at + 4, $attributeLength - 4));
        return 'Error: ' . $text . ($text =~ /\.$/ ? '' : '.') . "\n" if $text ne '';
      }
      $at += ($attributeLength + 3) & ~3;
    }
  }
  local $! = -$error;
  return "RTNETLINK answers: $!\n";
}
sub attribute {
  my ($type, $data) = @_;
  my $length = 4 + length $data;
  return pack('S S', $length, $type) . $data . ("\0" x (-$length % 4));
}
# SIOCGIFINDEX on the socket: the index of the device of that name in the socket's namespace (ll_name_to_index), or 0.
sub index_of {
  my ($nl, $dev) = @_;
  my $ifreq = pack('a16 x24', $dev);
  return ioctl($nl, 0x8933, $ifreq) ? unpack('x16 l', $ifreq) : 0;
}
sub request {
  my ($nl, $seq, $what, $dev, @args) = @_;
  # ip reads the master's name, and finds its index, before it looks for the device.
  my $master = $what eq 'master' ? index_of($nl, $args[0]) : 0;
  return \qq{Error: argument "$args[0]" is wrong: Device does not exist\n\n} if $what eq 'master' && !$master;
  my $index = index_of($nl, $dev);
  return qq{Cannot find device "$dev"\n} unless $index;
  my ($type, $flags, $body);
  if ($what eq 'neigh' || $what eq 'fdb') {
    my ($address, $mac) = $what eq 'neigh' ? @args : reverse @args;
    # RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE; AF_INET (ip: NUD_PERMANENT) or AF_BRIDGE with NTF_SELF (bridge:
    # NUD_NOARP, its starting state, | NUD_PERMANENT); NDA_DST and NDA_LLADDR.
    ($type, $flags) = (28, 0x500);
    my $lladdr = pack('C6', map { hex } split /:/, $mac);
    $body = pack('C x3 l S C C', $what eq 'neigh' ? 2 : 7, $index, $what eq 'neigh' ? 0x80 : 0xC0, $what eq 'neigh' ? 0 : 2, 0) . attribute(1, pack('C4', split /\./, $address)) . attribute(2, $lladdr);
  } elsif ($what eq 'addr') {
    my ($address, $length) = @args;
    my $local = pack('C4', split /\./, $address);
    my $broadcast = pack('N', unpack('N', $local) | (2 ** (32 - $length) - 1));
    # RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL; AF_INET, universe scope; IFA_LOCAL, IFA_ADDRESS and (prefixes to /30) IFA_BROADCAST.
    ($type, $flags) = (20, 0x600);
    $body = pack('C C C C L', 2, $length, 0, 0, $index) . attribute(2, $local) . attribute(1, $local) . ($length <= 30 ? attribute(4, $broadcast) : '');
  } elsif ($what eq 'route') {
    # RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL; AF_INET, table main, proto boot, universe scope, unicast; RTA_GATEWAY, RTA_OIF.
    ($type, $flags) = (24, 0x600);
    $body = pack('C8 L', 2, 0, 0, 0, 254, 3, 0, 1, 0) . attribute(5, pack('C4', split /\./, $args[0])) . attribute(4, pack('L', $index));
  } else {
    # RTM_NEWLINK on the device's index: IFF_UP changed and set, or IFLA_IFNAME, or IFLA_ADDRESS, or IFLA_MASTER and up.
    ($type, $flags) = (16, 0);
    my $up = $what eq 'up' || $what eq 'master' ? 1 : 0;
    my $attributes = $what eq 'name' ? attribute(3, "$args[0]\0") : $what eq 'address' ? attribute(1, pack('C6', map { hex } split /:/, $args[0])) : $what eq 'master' ? attribute(10, pack('L', $master)) : '';
    $body = pack('C C S l L L', 0, 0, 0, $index, $up, $up) . $attributes;
  }
  # NLM_F_ACK: only NLMSG_ERROR (2) answers a request, error 0 being its acknowledgement. '' when it was done.
  return converse($nl, $seq, $type, 4 | $flags, $body, sub {
    my ($kind, $answerFlags, $message) = @_;
    return $kind == 2 ? failure($answerFlags, $message) : undef;
  });
}
sub start {
  my ($id, $how, $netns, $sysctls, $stdin, @argv) = @_;
  return unbind($netns) if $how eq 'unbind';
  # The machine's namespace serves 'ip netns add/del' batches of the run's own names only: nothing else runs,
  # listens or captures there.
  return report($id, 126, "refusing the machine's namespace for $how jobs\n") if $netns eq '' && $how ne 'waited';
  return report($id, 126, "refusing in the machine's namespace: @argv\n") if $netns eq '' && @argv && !netns_batch(pack('H*', $stdin), @argv);
  if ($how eq 'links') {
    my $error = enter($netns, '');
    my ($code, $text) = defined $error ? (126, "$error\n") : links();
    syscall($setns, fileno($home), 0x40000000) == 0 or die "back to the worker's own network namespace: $!\n";
    return report($id, $code, $text);
  }
  if ($how eq 'activated') {
    my $error = enter($netns, '');
    my $job = bind_all($id, $netns, pack('H*', $stdin), @argv) unless defined $error;
    syscall($setns, fileno($home), 0x40000000) == 0 or die "back to the worker's own network namespace: $!\n";
    return report($id, 126, ($error // $job) . "\n") unless ref $job;
    $asleep{$id} = $job;
    $waking{fileno($_)} = $job for @{$job->{sockets}};
    return print "$id bound\n";
  }
  if ($how eq 'nftables') {
    my $error = enter($netns, pack('H*', $sysctls));
    my ($code, $text) = defined $error ? (126, "$error\n") : nftables(pack('H*', $stdin));
    syscall($setns, fileno($home), 0x40000000) == 0 or die "back to the worker's own network namespace: $!\n";
    return report($id, $code, $text, 'netlink');
  }
  my $error = enter($netns, pack('H*', $sysctls));
  # A batch of the few commands the worker speaks itself (ip_requests) needs no program: sent here, in the namespace.
  my $requests;
  $requests = ip_requests(pack('H*', $stdin), @argv) if !defined $error && $netns ne '' && $how eq 'waited';
  if ($requests) {
    my ($code, $text) = netlink($argv[1] eq '-force', $requests);
    syscall($setns, fileno($home), 0x40000000) == 0 or die "back to the worker's own network namespace: $!\n";
    return report($id, $code, $text, 'netlink');
  }
  my $job;
  $job = run($id, $how eq 'watched', pack('H*', $stdin), @argv) if !defined $error && @argv;
  syscall($setns, fileno($home), 0x40000000) == 0 or die "back to the worker's own network namespace: $!\n";
  if (ref $job) {
    $reading{fileno($job->{out})} = $job;
    if ($job->{watched}) {
      print "$id pid $job->{pid}\n";
    } else {
      $running++;
    }
  } elsif (defined $error || defined $job) {
    report($id, 126, ($error // $job) . "\n");
  } else {
    report($id, 0, '');
  }
}
# A program marked as the run's comes as 'env [-u NAME]... NAME=VALUE ... program ...' (RunRecord.marked): the forked
# child does env's part itself, unsetting and setting the variables and exec'ing the program, so the program keeps the
# child's pid, as under env, for one exec fewer.
sub exec_program {
  my @argv = @_;
  if ($argv[0] eq 'env') {
    shift @argv;
    while (@argv > 1 && $argv[0] eq '-u') { delete $ENV{$argv[1]}; splice(@argv, 0, 2); }
    while (@argv && $argv[0] =~ /^([^=]+)=(.*)$/s) { $ENV{$1} = $2; shift @argv; }
  }
  exec { $argv[0] } @argv or print STDERR "$argv[0]: $!\n";
}
sub run {
  my ($id, $watched, $stdin, @argv) = @_;
  my ($in_r, $in_w, $out_r, $out_w);
  pipe($in_r, $in_w) && pipe($out_r, $out_w) or return "pipe: $!";
  my $pid = fork;
  return "fork: $!" unless defined $pid;
  if ($pid == 0) {
    $SIG{PIPE} = 'DEFAULT';
    $SIG{INT} = 'DEFAULT';
    open(STDIN, '<&', $in_r);
    if ($watched) {
      open(STDOUT, '>', '/dev/null');
    } else {
      open(STDOUT, '>&', $out_w);
    }
    open(STDERR, '>&', $out_w);
    exec_program(@argv);
    exit 127;
  }
  close($in_r);
  close($out_w);
  fcntl($in_w, F_SETFL, fcntl($in_w, F_GETFL, 0) | O_NONBLOCK);
  $writing{fileno($in_w)} = [$in_w, $stdin];
  return { id => $id, watched => $watched, pid => $pid, out => $out_r, text => '' };
}
# An activated job's sockets, one 'udp ADDRESS PORT' or 'tcp ADDRESS PORT BACKLOG' a line, bound in the job's namespace.
sub bind_all {
  my ($id, $netns, $spec, @argv) = @_;
  # Loaded on first use: together they double the worker's start-up, which most runs need without them.
  require Socket;
  require POSIX;
  my @sockets;
  for my $l (split /\n/, $spec) {
    my ($proto, $address, $port, $backlog) = split / /, $l;
    my $addr = Socket::inet_aton($address) or return "not an IPv4 address: $address";
    my $s;
    socket($s, Socket::AF_INET(), $proto eq 'tcp' ? Socket::SOCK_STREAM() : Socket::SOCK_DGRAM(), 0) or return "socket: $!";
    # As Go's net.Listen (and Node's) sets it on a listening socket.
    setsockopt($s, Socket::SOL_SOCKET(), Socket::SO_REUSEADDR(), 1) if $proto eq 'tcp';
    bind($s, Socket::pack_sockaddr_in($port, $addr)) or return "bind $proto $address:$port: $!";
    listen($s, $backlog) or return "listen $address:$port: $!" if $proto eq 'tcp';
    push @sockets, $s;
  }
  return { id => $id, netns => $netns, sockets => \@sockets, argv => \@argv };
}
# The first datagram or connection on an activated job's sockets: its program starts in their namespace with them as
# fds 3, 4 and so on, and takes them over.
sub wake {
  my ($job) = @_;
  delete $asleep{$job->{id}};
  delete $waking{fileno($_)} for @{$job->{sockets}};
  my ($out_r, $out_w);
  pipe($out_r, $out_w) or return report($job->{id}, 126, "pipe: $!\n");
  my $error = enter($job->{netns}, '');
  my $pid = fork unless defined $error;
  syscall($setns, fileno($home), 0x40000000) == 0 or die "back to the worker's own network namespace: $!\n" if !defined $pid || $pid;
  return report($job->{id}, 126, ($error // "fork: $!") . "\n") unless defined $pid;
  if ($pid == 0) {
    $SIG{INT} = 'DEFAULT';
    # dup and dup2 leave close-on-exec off. Each copy is above the ones before it (the lowest free number, all
    # below in use), so moving the i-th to 3 + i never overwrites a later one.
    my @high = map { POSIX::dup(fileno($_)) } @{$job->{sockets}};
    POSIX::dup2($high[$_], 3 + $_) for 0 .. $#high;
    POSIX::close($_) for grep { $_ >= 3 + @high } @high;
    open(STDIN, '<', '/dev/null');
    open(STDOUT, '>', '/dev/null');
    open(STDERR, '>&', $out_w);
    exec_program(@{$job->{argv}});
    POSIX::_exit(127);
  }
  close($out_w);
  close($_) for @{$job->{sockets}};
  print "$job->{id} pid $pid\n";
  $reading{fileno($out_r)} = { id => $job->{id}, watched => 1, pid => $pid, out => $out_r, text => '' };
}
# An activated job asked to end before anything woke it: its sockets close, and it ends.
sub unbind {
  my ($id) = @_;
  my $job = delete $asleep{$id} or return;
  delete $waking{fileno($_)} for @{$job->{sockets}};
  close($_) for @{$job->{sockets}};
  report($id, 0, '');
}
sub enter {
  my ($netns, $sysctls) = @_;
  # No name: the worker's own namespace, the machine's (where 'ip netns add' and 'del' run); its sysctls are not ours to set.
  return $sysctls eq '' ? undef : 'refusing sysctls in the machine\'s namespace' if $netns eq '';
  my $error = enter_netns($netns);
  return $error if defined $error;
  for my $l (split /\n/, $sysctls) {
    my ($key, $value) = split / /, $l, 2;
    return "refusing sysctl key $key" unless $key =~ m{^[a-z0-9_]+(/[A-Za-z0-9_-]+)+$};
    open(my $w, '>', "/proc/sys/$key") or return "sysctl: cannot stat /proc/sys/$key: $!";
    print $w "$value\n";
    close($w) or return qq{sysctl: setting key "$key": $!};
  }
  return undef;
}
`;

/**
 * One job: its program (none: the sysctls only) run in `netns` with `input` on its stdin, after its sysctls; or,
 * instead of a program, an nf_tables batch the worker sends itself (nftables.ts).
 */
export type NamespaceJob = {
  /** A namespace of the run, or MACHINE_NAMESPACE (no sysctls there). */
  netns: string;
  sysctls?: { key: string; value: string }[];
} & ({ program?: string[]; input?: string; nftables?: undefined } | { nftables: Buffer; program?: undefined; input?: undefined });

export interface JobResult {
  /** The program's exit code; 126 when the namespace or a sysctl could not be set. */
  code: number;
  /** What the program wrote to stdout and stderr, or why the namespace or a sysctl could not be set. */
  output: string;
  /** The worker sent the batch's requests itself, starting no program (ip_requests). */
  inProcess?: true;
}

/** An nftables job's code when the kernel refused the batch: it changed nothing, and the same work can be done again another way. */
export const NFTABLES_REFUSED = 1;
/** An nftables job's code when the worker could not talk to nf_tables (socket, send, receive): the batch may have applied. */
export const NFTABLES_UNSURE = 2;

/** A job's namespace for the machine's own (the worker's): where the run's namespaces are added and deleted. */
export const MACHINE_NAMESPACE = '';

const ENV = { PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin`, LC_ALL: 'C' };

/** An argv item of a job line: nothing that would split it differently. */
function field(s: string): string {
  if (/[\t\n]/.test(s)) throw new Error(`refusing a namespace job field with a tab or newline: ${JSON.stringify(s)}`);
  return s;
}

/** A sysctl key as its path under /proc/sys (net.ipv4.ip_forward: net/ipv4/ip_forward); nothing that could leave /proc/sys. */
function sysctlPath(key: string): string {
  if (!/^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+$/.test(key)) throw new Error(`refusing sysctl key ${JSON.stringify(key)}`);
  return key.replace(/\./g, '/');
}

const hex = (text: string) => Buffer.from(text, 'utf8').toString('hex');

/** A program the worker started watched: its pid, and its end. */
export interface WatchedProgram {
  pid: number;
  /** Resolves with its exit code (128 + the signal's number when a signal ended it) once the worker has reaped it. */
  exited: Promise<number>;
  /** Whether the worker has reported its end. */
  ended(): boolean;
}

/** What the worker tells of a watched or activated job before its end. */
interface JobEvents {
  /** An activated job's sockets are bound. */
  bound?(): void;
  pid(pid: number): void;
  stderr(text: string): void;
}

/** How the worker runs a job: waited for (its output reported at its end), watched (a capture), activated (socket activation), its namespace's devices listed (links), or an nf_tables batch sent (nftables). */
type JobKind = 'waited' | 'watched' | 'activated' | 'links' | 'nftables';

class NamespaceWorker {
  private child?: ChildProcess;
  private nextId = 0;
  private readonly waiting = new Map<number, (r: JobResult) => void>();
  private readonly events = new Map<number, JobEvents>();
  private buffered = '';

  run(job: NamespaceJob, events?: JobEvents, kind: JobKind = events ? 'watched' : 'waited'): Promise<JobResult> & { id: number } {
    const sysctls = (job.sysctls ?? []).map((c) => `${sysctlPath(c.key)} ${field(c.value)}\n`).join('');
    const id = this.nextId++;
    const input = job.nftables ? job.nftables.toString('hex') : hex(job.input ?? '');
    const line = [String(id), kind, field(job.netns), hex(sysctls), input, ...(job.program ?? []).map(field)].join('\t');
    const child = this.started();
    const result = new Promise<JobResult>((resolve) => {
      this.waiting.set(id, resolve);
      if (events) this.events.set(id, events);
      this.hold();
      child.stdin!.write(line + '\n');
    });
    return Object.assign(result, { id });
  }

  /** Closes the sockets of an activated job that nothing woke yet (none: its program runs, and is stopped by its pid). */
  unbind(id: number): void {
    this.child?.stdin!.write([String(this.nextId++), 'unbind', String(id)].join('\t') + '\n');
  }

  /** Ends the worker once its jobs are done (its stdin closed) and waits for it to go. */
  async end(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.ref();
    child.stdin!.end();
    await gone;
  }

  private started(): ChildProcess {
    if (this.child) return this.child;
    const setns = SYSCALLS.setns;
    if (setns === undefined) throw new Error(`emu does not know the setns system call's number on ${process.arch}`);
    const child = spawn('perl', ['-e', SCRIPT, String(setns), String(PARALLEL_JOBS)], { stdio: ['pipe', 'pipe', 'inherit'], env: ENV });
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => this.reports(d));
    child.stdin!.on('error', () => undefined);
    // Gone (killed from outside): what waits fails, and the next job starts a new worker.
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      for (const done of this.waiting.values()) done({ code: 126, output: `the namespace worker ended (${signal ?? `exit ${code}`})` });
      this.waiting.clear();
      this.events.clear();
    });
    this.child = child;
    this.release();
    return child;
  }

  private reports(text: string): void {
    this.buffered += text;
    let at;
    while ((at = this.buffered.indexOf('\n')) >= 0) {
      const [id, code, output, how] = this.buffered.slice(0, at).split(' ');
      this.buffered = this.buffered.slice(at + 1);
      const events = this.events.get(Number(id));
      if (code === 'bound') {
        events?.bound?.();
        continue;
      }
      if (code === 'pid') {
        events?.pid(Number(output));
        continue;
      }
      if (code === 'err') {
        events?.stderr(Buffer.from(output ?? '', 'hex').toString('utf8'));
        continue;
      }
      const done = this.waiting.get(Number(id));
      this.waiting.delete(Number(id));
      this.events.delete(Number(id));
      done?.({ code: Number(code), output: Buffer.from(output ?? '', 'hex').toString('utf8'), ...(how === 'netlink' ? { inProcess: true as const } : {}) });
    }
    if (this.waiting.size === 0) this.release();
  }

  /** Jobs under way keep cnmlab alive, waiting for them… */
  private hold(): void {
    this.child?.ref();
    refStream(this.child?.stdout, true);
  }

  /** …an idle worker does not: cnmlab exits, its stdin closes, and the worker ends. */
  private release(): void {
    this.child?.unref();
    refStream(this.child?.stdout, false);
    refStream(this.child?.stdin, false);
  }
}

function refStream(stream: unknown, ref: boolean): void {
  const s = stream as { ref?: () => void; unref?: () => void } | undefined;
  if (ref) s?.ref?.();
  else s?.unref?.();
}

const worker = new NamespaceWorker();
let users = 0;

/** A signal to a process that may have exited meanwhile (then there is nothing to stop). */
export function killQuietly(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone meanwhile
  }
}

/**
 * Resolves once `done()` holds, asked every 2 ms, or after `withinMs`: for what other
 * processes do that tells no one when it is over (a tcpdump reading its ring, a miss handler
 * programming its entries).
 */
export async function pollUntil(done: () => boolean, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
}

/** A run uses the worker from here until the function returned is called (its close). */
export function useNamespaceWorker(): () => Promise<void> {
  users++;
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    if (--users === 0) await worker.end();
  };
}

/**
 * Starts a program in a namespace that runs until it is stopped (a capture), without a fork
 * of cnmlab's Node: resolves with its pid as soon as it is forked; what it writes to stderr
 * goes to `stderr` as it comes. It is stopped by a signal to its pid; the worker reaps it.
 * A namespace or program the worker could not enter or start rejects, with the worker's words.
 */
export function startWatched(job: { netns: string; program: string[] }, stderr: (text: string) => void): Promise<WatchedProgram> {
  return new Promise((resolve, reject) => {
    let code: number | undefined;
    let started = false;
    const exited = worker.run(job, {
      pid: (pid) => {
        started = true;
        resolve({ pid, exited: exited.then((r) => r.code), ended: () => code !== undefined });
      },
      stderr,
    }).then((r) => {
      code = r.code;
      if (!started) reject(new Error(r.output.trim() || `${job.program[0]} exited ${r.code}`));
      return r;
    });
  });
}

/** A program started on demand by the worker (startActivated). */
export interface ActivatedProgram {
  /** Its pid once the first datagram or connection started it. */
  pid(): number | undefined;
  /** Resolves once it ended, or its sockets closed before anything started it. */
  exited: Promise<number>;
  /** Stops it: its sockets closed if it never started, otherwise SIGKILL; resolves when it is gone. */
  stop(): Promise<void>;
}

/**
 * Socket activation: the worker binds `sockets` inside the namespace now (UDP, or TCP
 * listening with its backlog) and starts `program` only when the first datagram or
 * connection arrives, with the sockets as its fds 3, 4 … (in the order given); nothing
 * waiting is lost, as it stays queued on the sockets. Resolves once they are bound; a socket
 * that cannot be bound rejects with the worker's words. `started` learns the program's pid
 * (to be recorded: it outlives nothing, but a crash may leave it). The sockets live in the
 * worker until then, so they close with cnmlab, also after kill -9.
 */
export function startActivated(job: { netns: string; program: string[]; sockets: ({ proto: 'udp'; address: string; port: number } | { proto: 'tcp'; address: string; port: number; backlog: number })[] }, started: (pid: number) => void, stderr: (text: string) => void): Promise<ActivatedProgram> {
  const spec = job.sockets.map((s) => [s.proto, s.address, String(s.port), ...(s.proto === 'tcp' ? [String(s.backlog)] : [])].map(field).join(' ') + '\n').join('');
  return new Promise((resolve, reject) => {
    let pid: number | undefined;
    let code: number | undefined;
    let bound = false;
    const result = worker.run({ netns: job.netns, program: job.program, input: spec }, {
      bound: () => {
        bound = true;
        resolve({
          pid: () => pid,
          exited,
          stop: async () => {
            if (code !== undefined) return;
            if (pid === undefined) worker.unbind(result.id);
            else {
              killQuietly(pid, 'SIGKILL');
            }
            await exited;
          },
        });
      },
      pid: (p) => {
        pid = p;
        started(p);
      },
      stderr,
    }, 'activated');
    const exited = result.then((r) => {
      code = r.code;
      if (!bound) reject(new Error(r.output.trim() || `${job.program[0]} exited ${r.code}`));
      return r.code;
    });
  });
}

/** A device as the kernel lists it: its name, whether it is up (IFF_UP) and has a carrier (IFF_LOWER_UP), and its operational state (IF_OPER_*). */
export interface LinkState {
  name: string;
  up: boolean;
  lowerUp: boolean;
  operstate: number;
}

/** IF_OPER_DOWN, as the kernel numbers RFC 2863's operational states (`ip link` prints it DOWN). */
export const OPER_DOWN = 2;

const IFF_UP = 0x1;
const IFF_LOWER_UP = 0x10000;

/**
 * Every device of each namespace, listed by the worker over rtnetlink inside it, with no
 * program started (a poll of a few namespaces would otherwise cost an `ip` each time);
 * undefined where the namespace could not be entered (deleted meanwhile).
 */
export async function linksIn(namespaces: string[]): Promise<(LinkState[] | undefined)[]> {
  const results = await Promise.all(namespaces.map((netns) => worker.run({ netns }, undefined, 'links')));
  return results.map((r) => (r.code !== 0 ? undefined : r.output.split('\n').filter(Boolean).map((line) => {
    const [name, flags, operstate] = line.split(' ');
    return { name, up: (Number(flags) & IFF_UP) !== 0, lowerUp: (Number(flags) & IFF_LOWER_UP) !== 0, operstate: Number(operstate) };
  })));
}

/** Runs every job (the worker runs several at once); resolves with each one's result, in order. */
export async function runInNamespaces(jobs: NamespaceJob[]): Promise<JobResult[]> {
  return Promise.all(jobs.map((j) => worker.run(j, undefined, j.nftables ? 'nftables' : 'waited')));
}
