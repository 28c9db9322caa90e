/**
 * Which tools a container's shell has: its image decides. The images built on BusyBox
 * (`busybox`, `alpine`) answer `ping`, `nslookup`, `ip`, `arp`, `ifconfig`, `netstat`,
 * `hostname`, `sysctl` with BusyBox's applets, whose texts differ from the GNU tools' (iputils,
 * bind's nslookup, iproute2, glibc's getent) that Debian- and Ubuntu-based images carry.
 *
 * The rule: the image's repository name, without registry, namespace, tag or digest
 * (`docker.io/library/alpine:3.18` is `alpine`), is `busybox` or `alpine` → BusyBox; any
 * other image → GNU. A scenario host's own shell is always GNU (Debian 12's tools).
 *
 * In emu a BusyBox container runs Debian's busybox (1.35) as `busybox APPLET …`, so the
 * applets it knows are that build's (APPLETS below, as `busybox --list` prints them); a
 * command that is none of them is not in the image, and its shell (BusyBox ash) says
 * `sh: NAME: not found`, exit 127. Alpine adds a few programs of its own beside BusyBox
 * (musl's getent, apk…): cnmlab does not model them, so they are refused, never "not found".
 *
 * A Debian-based image (debian, ubuntu, nginx's Debian variants: DEBIAN_BASED_IMAGES) holds
 * what Debian 12's smallest system does (the packages of priority required, and apt: what the
 * debian:12 image is built from; DEBIAN_PROGRAMS below), what its own Dockerfile installs
 * beside (IMAGE_OWN_PROGRAMS) and the tools cnmlab models for it (ping, ip, nslookup …). A
 * program that is none of them is not in the image: its shell (bash) says
 * `bash: NAME: command not found`, exit 127. One it holds but cnmlab does not model (ls,
 * sort …) is refused as not modelled. Of any other GNU image (netshoot, redis, centos …)
 * cnmlab does not know what it holds: a program it does not model is refused, never "not found".
 *
 * `docker exec` runs no shell: runc looks the program up in $PATH and Docker writes runc's
 * refusal into the exec's output (execNotFound).
 */
export type ToolFamily = 'gnu' | 'busybox';

export const TOOL_FAMILIES: readonly ToolFamily[] = ['gnu', 'busybox'];

const BUSYBOX_IMAGES = ['busybox', 'alpine'];

/** The repository name of an image reference: `registry:5000/library/busybox:1.36@sha256:…` → `busybox`. */
export function imageRepository(image: string): string {
  const withoutDigest = image.split('@')[0];
  const last = withoutDigest.split('/').pop() ?? '';
  return last.split(':')[0].toLowerCase();
}

export function toolFamilyOf(image: string): ToolFamily {
  return BUSYBOX_IMAGES.includes(imageRepository(image)) ? 'busybox' : 'gnu';
}

/** Debian 12's busybox 1.35 applets (`busybox --list`), the build emu runs. */
const APPLETS = new Set('[ [[ acpid adjtimex ar arch arp arping ascii ash awk base64 basename bc blkdiscard blkid blockdev brctl bunzip2 bzcat bzip2 cal cat chgrp chmod chown chroot chvt clear cmp cp cpio crc32 cttyhack cut date dc dd deallocvt depmod devmem df diff dirname dmesg dnsdomainname dos2unix du dumpkmap dumpleases echo egrep env expand expr factor fallocate false fatattr fdisk fgrep find findfs fold free freeramdisk fsfreeze fstrim ftpget ftpput getopt getty grep groups gunzip gzip halt head hexdump hostid hostname httpd hwclock i2cdetect i2cdump i2cget i2cset i2ctransfer id ifconfig ifdown ifup init insmod ionice ip ipcalc ipneigh kill killall klogd last less link linux32 linux64 linuxrc ln loadfont loadkmap logger login logname logread losetup ls lsmod lsscsi lzcat lzma lzop md5sum mdev microcom mim mkdir mkdosfs mke2fs mkfifo mknod mkpasswd mkswap mktemp modinfo modprobe more mount mt mv nameif nc netstat nl nologin nproc nsenter nslookup nuke od openvt partprobe paste patch pidof ping ping6 pivot_root poweroff printf ps pwd rdate readlink realpath reboot renice reset resume rev rm rmdir rmmod route rpm rpm2cpio run-init run-parts sed seq setkeycodes setpriv setsid sh sha1sum sha256sum sha3sum sha512sum shred shuf sleep sort ssl_client start-stop-daemon stat strings stty svc svok swapoff swapon switch_root sync sysctl syslogd tac tail tar taskset tee telnet test tftp time timeout top touch tr traceroute traceroute6 true truncate ts tty ubirename udhcpc udhcpd uevent umount uname uncompress unexpand uniq unix2dos unlink unlzma unshare unxz unzip uptime usleep uudecode uuencode vconfig vi w watch watchdog wc wget which who whoami xargs xxd xz xzcat yes zcat'.split(' '));

/** Programs an Alpine image has beside BusyBox's applets (alpine-base: musl-utils, apk-tools, scanelf, ssl_client). */
const ALPINE_PROGRAMS = new Set(['apk', 'getconf', 'getent', 'iconv', 'ldd', 'scanelf', 'ssl_client']);

/** Whether a BusyBox image has a program of that name (an applet, or one of Alpine's own). */
export function busyboxImageHas(image: string, program: string): boolean {
  return APPLETS.has(program) || (imageRepository(image) === 'alpine' && ALPINE_PROGRAMS.has(program));
}

/**
 * The programs Debian 12's packages of priority required and apt put in /usr/bin and
 * /usr/sbin (dpkg -L, as bookworm 12.x ships them), and the alternatives they register
 * (awk, which, pager, rmt).
 */
const DEBIAN_PROGRAMS = new Set(('[ add-shell addpart agetty apt apt-cache apt-cdrom apt-config apt-get apt-key apt-mark arch b2sum badblocks base32 base64 basename basenc bash bashbug blkdiscard blkid blkzone blockdev captoinfo cat chage chattr chcon chcpu chfn chgpasswd chgrp chmem chmod choom chown chpasswd chroot chrt chsh cksum clear clear_console cmp comm cp cpgr cppw csplit ctrlaltdel cut dash date dd deb-systemd-helper deb-systemd-invoke debconf debconf-apt-progress debconf-communicate debconf-copydb debconf-escape debconf-set-selections debconf-show debugfs delpart df diff diff3 dir dircolors dirname dmesg dnsdomainname domainname dpkg dpkg-deb dpkg-divert dpkg-fsys-usrunmess dpkg-maintscript-helper dpkg-preconfigure dpkg-query dpkg-realpath dpkg-reconfigure dpkg-split dpkg-statoverride dpkg-trigger du dumpe2fs e2freefrag e2fsck e2image e2label e2mmpstatus e2scrub e2scrub_all e2undo e4crypt e4defrag echo egrep env expand expiry expr factor faillock faillog fallocate false fgrep filefrag find findfs findmnt flock fmt fold fsck fsck.cramfs fsck.ext2 fsck.ext3 fsck.ext4 fsck.minix fsfreeze fstab-decode fstrim getconf getent getopt getty gpasswd grep groupadd groupdel groupmems groupmod groups grpck grpconv grpunconv gunzip gzexe gzip hardlink head hostid hostname i386 iconv iconvconfig id infocmp infotocap install installkernel invoke-rc.d ionice ipcmk ipcrm ipcs ischroot isosize join killall5 last lastb lastlog ld.so ldattach ldconfig ldd link linux32 linux64 ln locale localedef logger login logname losetup ls lsattr lsblk lscpu lsipc lslocks lslogins lsmem lsns mawk mcookie md5sum md5sum.textutils mesg mkdir mke2fs mkfifo mkfs mkfs.bfs mkfs.cramfs mkfs.ext2 mkfs.ext3 mkfs.ext4 mkfs.minix mkhomedir_helper mklost+found mknod mkswap mktemp more mount mountpoint mv namei newgrp newusers nice nisdomainname nl nohup nologin nproc nsenter numfmt od pam-auth-update pam_getenv pam_namespace_helper pam_timestamp_check partx passwd paste pathchk perl perl5.36.0 pidof pinky pivot_root pldd pr printenv printf prlimit ptx pwck pwconv pwd pwhistory_helper pwunconv rbash readlink readprofile realpath remove-shell rename.ul renice reset resize2fs resizepart rev rgrep rm rmdir rmt-tar rtcwake run-parts runcon runuser savelog script scriptlive scriptreplay sdiff sed select-editor sensible-browser sensible-editor sensible-pager seq service setarch setpriv setsid setterm sg sh sha1sum sha224sum sha256sum sha384sum sha512sum shadowconfig shred shuf sleep sort split start-stop-daemon stat stdbuf stty su sulogin sum swaplabel swapoff swapon switch_root sync tabs tac tail tar tarcat taskset tee tempfile test tic timeout toe touch tput tr true truncate tset tsort tty tune2fs tzselect uclampset umount uname uncompress unexpand uniq unix_chkpwd unix_update unlink unshare update-alternatives update-passwd update-rc.d update-shells useradd userdel usermod users utmpdump vdir vigr vipw wall wc wdctl whereis which.debianutils who whoami wipefs x86_64 xargs yes ypdomainname zcat zcmp zdiff zdump zegrep zfgrep zforce zgrep zic zless zmore znew zramctl awk which pager rmt').split(' '));

/** The images built on Debian (nginx's `alpine` tags are not: Alpine's, whose programs cnmlab does not list). */
const DEBIAN_BASED_IMAGES = ['debian', 'ubuntu', 'nginx'];

/** What a Debian-based image's Dockerfile installs beside Debian's smallest system (nginx's: nginx, nginx-module-njs, gettext-base, curl). */
const IMAGE_OWN_PROGRAMS: Record<string, ReadonlySet<string>> = {
  nginx: new Set(['nginx', 'nginx-debug', 'njs', 'envsubst', 'gettext', 'gettext.sh', 'ngettext', 'curl']),
};

/** Whether the image is one built on Debian, whose programs DEBIAN_PROGRAMS lists. */
function debianBased(image: string): boolean {
  const tag = image.split('@')[0].split('/').pop()?.split(':')[1] ?? '';
  return DEBIAN_BASED_IMAGES.includes(imageRepository(image)) && !tag.includes('alpine');
}

/** The commands each family's shell runs itself (bash 5.2's and BusyBox 1.35 ash's builtins): there whatever the image holds. */
const SHELL_BUILTINS: Record<ToolFamily, ReadonlySet<string>> = {
  gnu: new Set('. : [ alias bg bind break builtin caller cd command compgen complete compopt continue declare dirs disown echo enable eval exec exit export false fc fg getopts hash help history jobs kill let local logout mapfile popd printf pushd pwd read readarray readonly return set shift shopt source suspend test times trap true type typeset ulimit umask unalias unset wait'.split(' ')),
  busybox: new Set('. : [ [[ alias bg break cd chdir command continue echo eval exec exit export false fg getopts hash help history jobs kill let local printf pwd read readonly return set shift source test times trap true type ulimit umask unalias unset wait'.split(' ')),
};

/**
 * Whether the image may have a program of that name besides those cnmlab models for its
 * family: a BusyBox image's applet (or one of Alpine's own), a Debian-based image's Debian
 * program or its own; for a line its shell reads, also the shell's builtins. A path
 * (`/bin/x`) is not judged here, nor is any program of an image cnmlab does not know.
 */
export function imageHas(image: string, program: string, via: 'shell' | 'exec'): boolean {
  if (program.includes('/')) return true;
  const family = toolFamilyOf(image);
  if (via === 'shell' && SHELL_BUILTINS[family].has(program)) return true;
  if (family === 'busybox') return busyboxImageHas(image, program);
  if (!debianBased(image)) return true;
  return DEBIAN_PROGRAMS.has(program) || (IMAGE_OWN_PROGRAMS[imageRepository(image)]?.has(program) ?? false);
}

/** Whether some family's image may lack the program, so only the container's own image can tell (docker exec, checked before the container is known). */
export function someImageMayLack(program: string): boolean {
  return !program.includes('/') && (!APPLETS.has(program) || !DEBIAN_PROGRAMS.has(program));
}

/** The image's shell's answer for a command the image does not have: BusyBox ash's or bash's. */
export function shellNotFound(image: string, program: string): { stdout: string; stderr: string; exitCode: number } {
  const words = toolFamilyOf(image) === 'busybox' ? `sh: ${program}: not found` : `bash: ${program}: command not found`;
  return { stdout: '', stderr: `${words}\n`, exitCode: 127 };
}

/**
 * `docker exec` of a program the image does not have: runc 1.1's refusal (the runc Docker
 * 20.10.24's containerd.io packages carry), which dockerd writes into the exec's stdout with
 * "\r\n" (postContainerExecStart), and the exit code its ContainerExecStart leaves on any
 * start error, 126 (the 127 translateContainerdStartErr sets is overwritten by its deferred
 * cleanup, moby v20.10 daemon/exec.go).
 */
export function execNotFound(program: string): { stdout: string; stderr: string; exitCode: number } {
  return { stdout: `OCI runtime exec failed: exec failed: unable to start container process: exec: ${JSON.stringify(program)}: executable file not found in $PATH: unknown\r\n`, stderr: '', exitCode: 126 };
}
