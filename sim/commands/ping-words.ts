/**
 * ping's -I with a device: cnmlab models sending through the device the route to the
 * destination takes, not through another (SO_BINDTODEVICE past the route). sim's ping
 * (kernel/programs.ts) looks the route up in its kernel; emu asks the real namespace's
 * kernel (`ip route get`, emu/backend.ts). Both print this refusal.
 */
export const pingDeviceRefusal = (bind: string): string => `cnmlab: ping -I ${bind}: sending through a device other than the route's is not modelled\n`;

/**
 * ping's -I with lo or a device without an address of its own, to a destination no route
 * matches: the kernel takes it as on that link with a source from another device (inet_select_addr;
 * iputils warns that it might), which cnmlab does not model; a device with an address it does.
 */
export const pingUnroutedRefusal = (bind: string): string => `cnmlab: ping -I ${bind}: a destination with no route, through lo or a device without an address, is not modelled\n`;

/** The options of iputils' and BusyBox's ping that take a value (as the registry declares them). */
const TAKES_VALUE = /^-[ciWwsMtI]$/;

/** The value of ping's -I (`-I X` or `-IX`; the last one given), as iputils and BusyBox read their options; undefined when not given. */
export function pingBind(args: readonly string[]): string | undefined {
  let bind: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-I') bind = args[i + 1];
    else if (a.startsWith('-I')) bind = a.slice(2);
    if (TAKES_VALUE.test(a)) i++;
  }
  return bind;
}

/** The destination: the last word that is no option and no option's value; undefined when there is none. */
export function pingTarget(args: readonly string[]): string | undefined {
  let target: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (TAKES_VALUE.test(a)) i++;
    else if (!a.startsWith('-')) target = a;
  }
  return target;
}
