/**
 * A registry whose members register themselves as their modules load, each under a name and
 * with a rank: what it lists is in rank order (lowest first), as the registrations state it,
 * never in the order modules happened to load in. A second registration under a name is
 * refused (it would replace a member unseen), and so is one at a rank another member holds
 * (the order would again be the order of loading). It derives nothing as members register:
 * its own module loads before theirs, so what it lists it sorts when asked.
 */
export class RankedRegistry<T> {
  private readonly members = new Map<string, { member: T; rank: number }>();
  // Who holds each rank, so a registration checks its rank without walking every member.
  private readonly rankHolders = new Map<number, string>();
  // Every member by rank, sorted on first use after a registration (some lists are asked per host and step).
  private ranked: readonly T[] | undefined;

  /** `what`: what a member is, as a refusal names it ("network driver", "path model"). */
  constructor(private readonly what: string) {}

  register(name: string, member: T, rank: number): void {
    if (this.members.has(name)) throw new Error(`${this.what} ${name} is registered twice`);
    const holder = this.rankHolders.get(rank);
    if (holder !== undefined) throw new Error(`${this.what} ${name}: rank ${rank} is already ${holder}'s`);
    this.members.set(name, { member, rank });
    this.rankHolders.set(rank, name);
    this.ranked = undefined;
  }

  /** The member registered under `name`; undefined when none is. */
  get(name: string): T | undefined {
    return this.members.get(name)?.member;
  }

  /** Every member, by rank. */
  list(): readonly T[] {
    this.ranked ??= [...this.members.values()].sort((a, b) => a.rank - b.rank).map((m) => m.member);
    return this.ranked;
  }
}
