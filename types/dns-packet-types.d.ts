declare module 'dns-packet/types' {
  export function toType(name: string): number;
  export function toString(type: number): string;
}
declare module 'dns-packet/rcodes' {
  export function toRcode(name: string): number;
  export function toString(rcode: number): string;
}
