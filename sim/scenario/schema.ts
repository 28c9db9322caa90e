/** The scenario file format (docs/scenarios.md), as zod schemas, and plain checks that pass a valid file without them. */
import type { z } from 'zod';
import { isIpv4 } from '../wire/addr';
import { maxStep, verdictKinds, type VerdictKind } from '../trace/paths';
import { RESOLVE_STEP } from '../trace/paths/path';

export const NAME_RE = /^[a-z0-9][a-z0-9-]*$/;
/** Host names become parts of namespace names, so they stay short and plain. */
export const HOST_RE = /^[a-z][a-z0-9-]{0,11}$/;

/** What `expect: { path: … }` may name: a registered path model's verdict, or none (the request was lost). */
export function expectPaths(): readonly ['none', ...VerdictKind[]] {
  return ['none', ...verdictKinds()];
}
const EXPECT_KEYS = ['exit', 'stdout', 'stderr', 'path', 'drop-at'];
const DELAY_KEYS = ['veth', 'bridge', 'vxlan', 'stack', 'underlay', 'dns'] as const;
const SCENARIO_KEYS = ['name', 'description', 'seed', 'timeout', 'delays', 'hosts', 'steps'];
/** Seconds a step may run (sim counts virtual time): from a tenth of a second to an hour. */
const TIMEOUT_MIN = 0.1, TIMEOUT_MAX = 3600;

function buildSchemas() {
  // Loaded here, not with this module: a valid file never needs zod, and the CLI's bundle
  // leaves it out (a fifth smaller), so that every command starts sooner.
  const { z: zod } = require('zod') as { z: typeof z };
  const matcher = zod.string().min(1, 'a substring or /regex/');

  const expectSchema = zod.strictObject({
    exit: zod.number().int().min(0).max(255).optional(),
    stdout: matcher.optional(),
    stderr: matcher.optional(),
    path: zod.enum(expectPaths()).optional(),
    'drop-at': zod.number().int().min(RESOLVE_STEP).max(maxStep()).optional(),
  });

  const timeoutSchema = zod.number().min(TIMEOUT_MIN).max(TIMEOUT_MAX);

  const hostSchema = zod.union([
    zod.null(),
    zod.strictObject({
      underlay: zod.string().refine(isIpv4, 'an IPv4 address such as 198.51.100.11').optional(),
    }),
  ]);

  const scenarioSchema = zod.strictObject({
    name: zod.string().regex(NAME_RE, 'a name of lowercase letters, digits and dashes, such as overlay-standalone'),
    description: zod.string().optional(),
    seed: zod.number().int().optional(),
    timeout: timeoutSchema.optional(),
    /** sim only: per-hop delays in microseconds (defaults give pings of a few tenths of a ms). */
    delays: zod.strictObject({
      veth: zod.number().min(0), bridge: zod.number().min(0), vxlan: zod.number().min(0), stack: zod.number().min(0), underlay: zod.number().min(0), dns: zod.number().min(0),
    }).partial().optional(),
    hosts: zod.record(zod.string().regex(HOST_RE, 'a host name of up to 12 lowercase letters, digits and dashes, starting with a letter'), hostSchema)
      .refine((h) => Object.keys(h).length > 0, 'at least one host'),
    steps: zod.array(zod.record(zod.string(), zod.unknown())).min(1, 'at least one step'),
  });

  return { expectSchema, timeoutSchema, scenarioSchema };
}

let schemas: ReturnType<typeof buildSchemas> | undefined;

/**
 * zod's schemas, built on first use: building them is a noticeable part of a short command's
 * start, and a valid file, the common case, passes the plain checks below without them.
 */
export function scenarioSchemas(): ReturnType<typeof buildSchemas> {
  return (schemas ??= buildSchemas());
}

export type Expect = z.infer<ReturnType<typeof buildSchemas>['expectSchema']>;
export type RawScenario = z.infer<ReturnType<typeof buildSchemas>['scenarioSchema']>;

/*
 * The plain checks: true only for a value its schema accepts exactly as it is, so that parsing
 * it would give it back unchanged. False means "ask the schema", which then says what is
 * wrong. They may refuse more than the schema does, never less (test/scenario-schema.test.ts).
 */

/** A plain object; one with its own `__proto__` key is left to the schema, whose copy of it sets a prototype instead. */
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype && !Object.hasOwn(v, '__proto__');
const onlyKeys = (v: Record<string, unknown>, keys: readonly string[]) => Object.keys(v).every((k) => keys.includes(k));
const isInt = (v: unknown, min: number, max: number): v is number => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;
const isNumber = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max;
const absentOr = (v: unknown, check: (v: unknown) => boolean) => v === undefined || check(v);

export function plainlyValidTimeout(v: unknown): v is number {
  return isNumber(v, TIMEOUT_MIN, TIMEOUT_MAX);
}

export function plainlyValidExpect(v: unknown): v is Expect {
  return isRecord(v) && onlyKeys(v, EXPECT_KEYS)
    && absentOr(v.exit, (x) => isInt(x, 0, 255))
    && absentOr(v.stdout, (x) => typeof x === 'string' && x.length > 0)
    && absentOr(v.stderr, (x) => typeof x === 'string' && x.length > 0)
    && absentOr(v.path, (x) => (expectPaths() as readonly unknown[]).includes(x))
    && absentOr(v['drop-at'], (x) => isInt(x, RESOLVE_STEP, maxStep()));
}

const plainlyValidHost = (v: unknown) => v === null || (isRecord(v) && onlyKeys(v, ['underlay']) && absentOr(v.underlay, (x) => typeof x === 'string' && isIpv4(x)));

export function plainlyValidScenario(v: unknown): v is RawScenario {
  return isRecord(v) && onlyKeys(v, SCENARIO_KEYS)
    && typeof v.name === 'string' && NAME_RE.test(v.name)
    && absentOr(v.description, (x) => typeof x === 'string')
    && absentOr(v.seed, (x) => isInt(x, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER))
    && absentOr(v.timeout, plainlyValidTimeout)
    && absentOr(v.delays, (d) => isRecord(d) && onlyKeys(d, DELAY_KEYS) && Object.values(d).every((x) => absentOr(x, (n) => isNumber(n, 0, Infinity))))
    && isRecord(v.hosts) && Object.keys(v.hosts).length > 0 && Object.entries(v.hosts).every(([name, h]) => HOST_RE.test(name) && plainlyValidHost(h))
    && Array.isArray(v.steps) && v.steps.length > 0 && v.steps.every(isRecord);
}

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
