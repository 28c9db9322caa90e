/** The scenario file format (docs/scenarios.md), as a zod schema. */
import { z } from 'zod';
import { isIpv4 } from '../wire/addr';
import { MAX_STEP } from '../trace/paths';
import { RESOLVE_STEP } from '../trace/paths/path';

export const NAME_RE = /^[a-z0-9][a-z0-9-]*$/;
/** Host names become parts of namespace names, so they stay short and plain. */
export const HOST_RE = /^[a-z][a-z0-9-]{0,11}$/;

const matcher = z.string().min(1, 'a substring or /regex/');

export const expectSchema = z.strictObject({
  exit: z.number().int().min(0).max(255).optional(),
  stdout: matcher.optional(),
  stderr: matcher.optional(),
  path: z.enum(['overlay', 'local', 'outside', 'flannel-vxlan', 'flannel-host-gw', 'calico', 'weave', 'none']).optional(),
  'drop-at': z.number().int().min(RESOLVE_STEP).max(MAX_STEP).optional(),
});

/** Seconds a step may run (sim counts virtual time): from a tenth of a second to an hour. */
export const timeoutSchema = z.number().min(0.1).max(3600);

export const hostSchema = z.union([
  z.null(),
  z.strictObject({
    underlay: z.string().refine(isIpv4, 'an IPv4 address such as 198.51.100.11').optional(),
  }),
]);

export const scenarioSchema = z.strictObject({
  name: z.string().regex(NAME_RE, 'a name of lowercase letters, digits and dashes, such as overlay-standalone'),
  description: z.string().optional(),
  seed: z.number().int().optional(),
  timeout: timeoutSchema.optional(),
  /** sim only: per-hop delays in microseconds (defaults give pings of a few tenths of a ms). */
  delays: z.strictObject({
    veth: z.number().min(0), bridge: z.number().min(0), vxlan: z.number().min(0), stack: z.number().min(0), underlay: z.number().min(0), dns: z.number().min(0),
  }).partial().optional(),
  hosts: z.record(z.string().regex(HOST_RE, 'a host name of up to 12 lowercase letters, digits and dashes, starting with a letter'), hostSchema)
    .refine((h) => Object.keys(h).length > 0, 'at least one host'),
  steps: z.array(z.record(z.string(), z.unknown())).min(1, 'at least one step'),
});

export type Expect = z.infer<typeof expectSchema>;

export interface Step {
  index: number;
  /** A host name or a container name. */
  on: string;
  command: string;
  expect?: Expect;
  /** Seconds this step may run, overriding the scenario's `timeout:`. */
  timeout?: number;
  /** 1-based line of the step in its file. */
  line: number;
}

export interface Scenario {
  file: string;
  name: string;
  description?: string;
  seed?: number;
  /** Seconds a step may run unless it sets its own (runner/bounds has the default). */
  timeout?: number;
  delays?: Partial<Record<'veth' | 'bridge' | 'vxlan' | 'stack' | 'underlay' | 'dns', number>>;
  hosts: { name: string; underlay: string }[];
  steps: Step[];
}
