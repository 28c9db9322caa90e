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

/** BusyBox ash's answer for a command the image does not have. */
export function shellNotFound(program: string): { stdout: string; stderr: string; exitCode: number } {
  return { stdout: '', stderr: `sh: ${program}: not found\n`, exitCode: 127 };
}
