/** iproute2's lib/utils.c: how its commands read numbers and addresses, and what every `ip` command answers with. */

/** What an `ip` command printed and its exit status. */
export interface Output {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** cnmlab refused words it does not model (unmodelledWords): the step is not modelled (CommandOutput.refusedUnmodelled). */
  refusedUnmodelled?: true;
}

/** A refusal: nothing on stdout. */
export const err = (stderr: string, exitCode = 1): Output => ({ stdout: '', stderr, exitCode });

/**
 * cnmlab's own refusal of words it does not model (`cnmlab: … not modelled …`), exit 2 as
 * iproute2's usage errors; every program the sim kernel answers (ip, tc, ss, sysctl, ping)
 * refuses through it, so the step is marked not modelled.
 */
export const unmodelledWords = (stderr: string): Output => ({ ...err(stderr, 2), refusedUnmodelled: true });

/**
 * A refusal thrown from deep in a program's parsing (tc, sysctl, iptables), carrying what the
 * program prints for it: the program's entry catches it and answers with its output.
 */
export class Refusal {
  constructor(readonly output: Output) {}
}

/**
 * rtnetlink_rcv_msg refuses a change (RTM_NEWLINK, RTM_DELLINK, RTM_NEWROUTE, RTM_NEWQDISC …)
 * from a socket without CAP_NET_ADMIN before any handler reads it, as iproute2 (ip, tc) prints
 * it, exit 2: a Docker container's, unless run with --cap-add NET_ADMIN (model/capabilities.ts).
 * Its arguments are read and its device looked up first (RTM_GETLINK needs no capability).
 */
export const NOT_PERMITTED = (): Output => err('RTNETLINK answers: Operation not permitted\n', 2);

export const INCOMPLETE = 'Command line is not complete. Try option "help"\n';

/** strtol with base 0, as iproute2's get_integer reads numbers: decimal, 0x hex or 0 octal. */
export function integer(word: string): number | undefined {
  const m = /^([+-]?)(0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)$/i.exec(word);
  if (!m) return undefined;
  const digits = m[2];
  const n = /^0x/i.test(digits) ? parseInt(digits.slice(2), 16) : digits.length > 1 && digits[0] === '0' ? parseInt(digits, 8) : Number(digits);
  return m[1] === '-' ? -n : n;
}

/**
 * get_addr_ipv4: one to four dot-separated numbers, each read by strtoul with base 0
 * (`010` is 8, `0x0a` is 10; leading blanks skipped) and at most 255, the missing ones
 * zero (`10` is 10.0.0.0). As a number, or undefined.
 */
export function dottedAddress(word: string): number | undefined {
  const parts = word.split('.');
  if (parts.length > 4) return undefined;
  let n = 0;
  for (let i = 0; i < 4; i++) {
    const v = i < parts.length ? integer(parts[i].trimStart()) : 0;
    // strtoul negates a `-` number into a huge unsigned one: only -0 stays in range.
    if (v === undefined || v > 255 || v < 0) return undefined;
    n = n * 256 + Math.abs(v);
  }
  return n;
}
