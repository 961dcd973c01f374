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

/** For this long after a node first counts or hears of a key, a peer it has heard nothing from is presumed to hold its first part. */
export const IDLE_MS = 2 * SLOT_MS;

export interface SplitView {
  limit: number;
  self: string;
  /** The live members' ids, sorted, this node's included. */
  members: readonly string[];
  /** The other nodes' latest totals and caps of the key (gone members' too). */
  peers: ReadonlyMap<string, { total: number; cap: number }> | undefined;
  /** This node's cap of the key. */
  cap: number;
  /** Within IDLE_MS of this node's first news of the key. */
  fresh: boolean;
  now: number;
}

/**
 * What this node may add to its cap: the headroom nobody it knows of holds is `free`.
 *
 * A node's first part is allotment(limit, N, its place in the sorted ids): the first parts are
 * disjoint whatever each node has heard, so the nodes that start a window together claim
 * exactly the limit even before they hear of each other. While the key is fresh, a peer not
 * heard from is presumed to hold its first part, and this node claims only up to its own.
 * After that, a peer not heard from is idle (holds nothing), and what is free is split
 * between this node and the peers that counted the key, by allotment with the rotating rank.
 */
export function split(v: SplitView): { free: number; add: number } {
  const n = v.members.length;
  let held = 0;
  let heardAll = true;
  const active = [v.self];
  for (let i = 0; i < n; i++) {
    const id = v.members[i]!;
    if (id === v.self) continue;
    const p = v.peers?.get(id);
    if (p) {
      held += Math.max(p.total, p.cap);
      active.push(id);
    } else {
      heardAll = false;
      if (v.fresh) held += allotment(v.limit, n, i);
    }
  }
  if (v.peers) for (const [id, p] of v.peers) if (!v.members.includes(id)) held += p.total;
  const free = v.limit - v.cap - held;
  if (v.fresh && !heardAll) {
    const first = allotment(v.limit, n, Math.max(0, v.members.indexOf(v.self)));
    return { free, add: Math.max(0, Math.min(first - v.cap, free)) };
  }
  active.sort();
  return { free, add: allotment(free, active.length, rankIn(v.self, active, v.now)) };
}
