// The arithmetic of splitting a rate limit's free headroom between the live nodes of a cluster
// (policy = cluster; src/proxy/node-counters.ts holds the state, src/sync/counters/share.ts
// says why). Pure functions: every node computes the same split from the same view.

/** How long one rotation slot lasts: the remainder of a split goes to other nodes every slot. */
export const SLOT_MS = 100;

/**
 * Node `rank`'s part of `free` split between `n` nodes: floor(free / n), plus one for the
 * first free mod n ranks. The parts of ranks 0..n-1 sum to exactly `free`, so nodes that split
 * the same headroom from the same view never claim more than it together.
 */
export function allotment(free: number, n: number, rank: number): number {
  if (!(free > 0) || n < 1) return 0;
  const q = Math.floor(free / n);
  return q + (rank < free - q * n ? 1 : 0);
}

/**
 * This node's rank among the live members (sorted ids, the same order on every node), turned
 * by one every slot: when less than one request per node is free, the node whose rank gets
 * the remainder changes each slot, so a node without one gets its turn within n slots.
 */
export function rankIn(self: string, sortedIds: readonly string[], now: number): number {
  const i = sortedIds.indexOf(self);
  if (i < 0 || !sortedIds.length) return 0;
  return (i + Math.floor(now / SLOT_MS)) % sortedIds.length;
}

/** A node's first part of a limit: every node computes every node's without a message. */
export function firstPart(limit: number, members: readonly string[], id: string): number {
  return allotment(limit, members.length, Math.max(0, members.indexOf(id)));
}

/** A node's view of a key, from which it computes what it may add to its cap. */
export interface SplitView {
  limit: number;
  self: string;
  /** The live members' ids, sorted, this node's included. */
  members: readonly string[];
  /** The other nodes' latest totals and caps of the key (gone members' too). */
  peers: ReadonlyMap<string, PeerPart> | undefined;
  /** This node's cap of the key. */
  cap: number;
  now: number;
}

/** What a node last said of a key: its count, its cap, and whether it used its cap and is asked for more. */
export interface PeerPart {
  total: number;
  cap: number;
  wants: boolean;
}

/**
 * What this node may add to its cap: `free` is the headroom nobody it knows of holds. A live
 * peer holds its cap (or its count, if above) once it said one, else its first part; a gone
 * member its count. What is free is split between all the live members by allotment with the
 * rotating rank, and this node takes its own share: nodes that claim in one slot take at most
 * `free` together even when they do not know that the others claim too; the shares of nodes
 * that do not claim stay free for the next claim. `othersWant`: a peer said it used its cap.
 */
export function split(v: SplitView): { free: number; add: number; othersWant: boolean } {
  let held = 0;
  let othersWant = false;
  for (const id of v.members) {
    if (id === v.self) continue;
    const p = v.peers?.get(id);
    if (!p) {
      held += firstPart(v.limit, v.members, id);
      continue;
    }
    held += Math.max(p.total, p.cap);
    if (p.wants) othersWant = true;
  }
  if (v.peers) for (const [id, p] of v.peers) if (!v.members.includes(id)) held += p.total;
  const free = v.limit - v.cap - held;
  return { free, add: allotment(free, v.members.length, rankIn(v.self, v.members, v.now)), othersWant };
}
