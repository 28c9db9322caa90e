/**
 * What a namespace runs beside its core stack, each kept by its own module: user-space
 * programs a plan op starts (Weave Net's router) and modules' per-namespace state
 * (net_generic, as register_pernet_subsys gives a module its slot: Open vSwitch's
 * datapaths). A program's module adds its entry's type by declaration merging
 * (`declare module './program_registry' { interface RegisteredPrograms { NAME: Instance } }`),
 * so shared objects hold no field of any program's, and registers the plan ops it carries
 * out (`registerProgramOp`, their kinds added to `RegisteredProgramOps`), so
 * `SimKernel.apply` names none of them. The modules register
 * as they load; `sim/kernel/program_index.ts` loads them, and is the one file that names them.
 * A control plane's registration states its rank, so their order is never the order of loading.
 */
import type { PlanOp } from '../plan/ops';
import type { World } from '../model/world';
import type { ControlRecord } from '../trace/control_record';
import type { Datapath } from './datapath';
import type { SimKernel } from './kernel';
import type { LinkType, SimLink, SimNetns } from './objects';
import { RankedRegistry } from '../registry/ranked';

/** Each program's entry in a namespace, by name: empty here, filled by merging. */
export interface RegisteredPrograms {}
export type ProgramName = keyof RegisteredPrograms;

/** The program's entry in `ns`, if it runs there. */
export function programIn<K extends ProgramName>(ns: SimNetns, name: K): RegisteredPrograms[K] | undefined {
  return ns.programs?.get(name) as RegisteredPrograms[K] | undefined;
}

/** Starts (or replaces) the program's entry in `ns`. */
export function setProgram<K extends ProgramName>(ns: SimNetns, name: K, entry: RegisteredPrograms[K]): void {
  (ns.programs ??= new Map()).set(name, entry);
}

/** What a program's plan op may do to the kernel: find namespaces and devices, and make a device. */
export interface ProgramKernel {
  netns(host: string, netns: string): SimNetns;
  link(host: string, netns: string, name: string): SimLink;
  newLink(ns: SimNetns, name: string, type: LinkType, mtu?: number): SimLink;
}

/**
 * The plan op kinds programs carry out, each added by its program's module by merging
 * (`interface RegisteredProgramOps { 'KIND': true }`): `SimKernel.apply` hands them
 * here, and an op kind neither it nor a program takes does not compile.
 */
export interface RegisteredProgramOps {}
export type ProgramOpKind = keyof RegisteredProgramOps & PlanOp['op'];
export type ProgramOp = Extract<PlanOp, { op: ProgramOpKind }>;

type Handler<K extends ProgramOpKind> = (kernel: ProgramKernel, op: Extract<PlanOp, { op: K }>) => void;

/** Each kind's handler, stored as taking any program op: `applyProgramOp` hands it only ops of its kind. */
const OP_HANDLERS = new Map<ProgramOpKind, Handler<ProgramOpKind>>();

/** Called by a program's module as it loads: `kind`'s plan ops are its to carry out. */
export function registerProgramOp<K extends ProgramOpKind>(kind: K, handler: Handler<K>): void {
  if (OP_HANDLERS.has(kind)) throw new Error(`plan op ${kind} has a program already`);
  OP_HANDLERS.set(kind, handler as unknown as Handler<ProgramOpKind>);
}

/** Carries out a plan op of a program's, by the handler its module registered. */
export function applyProgramOp(kernel: ProgramKernel, op: ProgramOp): void {
  const handler = OP_HANDLERS.get(op.op);
  if (!handler) throw new Error(`the sim kernel has no program for plan op ${op.op}: sim/kernel/program_index.ts was not loaded`);
  handler(kernel, op);
}

/** A program's control plane, told the world after each step's ops (weave's mesh: its routers connect once they exist in the kernel). */
export interface WorldObserver {
  observe(world: World): void;
}

/** What makes a program's control plane for one sim backend: on its datapath's clock, its flows in the backend's control record. */
export type ControlPlaneFactory = (dp: Datapath, kernel: SimKernel, seed: number, record: ControlRecord) => WorldObserver;

const CONTROL_PLANES = new RankedRegistry<ControlPlaneFactory>('control plane');

/**
 * Called by a program's module as it loads. `rank` orders the control planes (lowest first):
 * each is made, and told the world after a step, in that order, whatever order the modules loaded in.
 */
export function registerControlPlane(name: string, make: ControlPlaneFactory, { rank }: { rank: number }): void {
  CONTROL_PLANES.register(name, make, rank);
}

/** Every registered program's control plane, made for one sim backend, by rank. */
export function programControlPlanes(dp: Datapath, kernel: SimKernel, seed: number, record: ControlRecord): WorldObserver[] {
  return CONTROL_PLANES.list().map((make) => make(dp, kernel, seed, record));
}
