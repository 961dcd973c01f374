// The primary's counters with the cluster's share added. Keys under CLUSTER_COUNTER_PREFIX
// (rate limiting with policy = cluster) are counted by every node: this node's total of such a
// key is what its workers reported, and each other member's total arrives by gossip
// (src/sync/counters/share.ts, which also states the bound this gives).
//
// Each node may count a shared key only up to its cap: a part of the limit it claimed from
// the headroom nobody it knows of holds (allotment.ts splits it between the live members).
// Caps travel with the totals. A node that has used its cap claims again from what is free;
// one whose part is 0 waits for news, or for its turn at the remainder (one slot per
// SLOT_MS) while its workers are asked for more; one that holds a part it is no longer asked
// for while the headroom is short gives it back.
// What a worker is told is the cluster-wide sum plus a hold: the headroom this node must leave
// to the others, so that the worker refuses once this node's cap is used.
import { CLUSTER_COUNTER_PREFIX } from '../plugins/types.ts';
import { IDLE_MS, SLOT_MS, split } from './allotment.ts';
import { LocalCounters, limitOf } from './counters.ts';

/** Gossip: [key, expiresAt, this node's total, its cap]; to workers: [key, expiresAt, sum, hold]. */
export type CounterEntry = [key: string, expiresAt: number, total: number, cap?: number];

/** A node not asked for a key for this long gives back the part of its cap it holds unused. */
export const RELEASE_MS = 10 * SLOT_MS;
/** A node asked for a key within this long (a worker refused a request for its cap) claims its turn. */
const ASKED_MS = 2 * SLOT_MS;

interface Own {
  limit: number;
  expiresAt: number;
  cap: number;
  /** When this node first counted or heard of the key. */
  since: number;
  /** Counted since last shared (lazy). */
  changed: boolean;
  /** When a worker last counted or was refused a request for this node's cap. */
  lastAsked: number;
}

interface Peer {
  total: number;
  cap: number;
}

interface Remote {
  byNode: Map<string, Peer>;
  sum: number;
  expiresAt: number;
  since: number;
}

/** What the cluster sharing needs of a node's counters (ProxyWorkers implements it). */
export interface SharedCounters {
  /** This node's totals and caps of the shared keys that changed since the last call. */
  takeChanged(): CounterEntry[];
  /** Another member's totals and caps: workers hear the new cluster-wide sums. */
  applyRemote(node: string, entries: CounterEntry[]): void;
  /** Called after a change: `urgent` when a cap changed, which the others must hear at once. */
  onChange(cb: (urgent: boolean) => void): void;
  /** This node's id and the live members' (this one included): the headroom is split between them. */
  setMembers(self: string, live: string[]): void;
}

export class NodeCounters extends LocalCounters {
  private readonly own = new Map<string, Own>();
  private readonly remote = new Map<string, Remote>();
  private notify: ((urgent: boolean) => void) | null = null;
  private pushTo: ((entries: CounterEntry[]) => void) | null = null;
  private self = '';
  private members: string[] = [''];
  private live = new Set<string>();
  /** Keys waiting for their turn at the remainder, or holding a part of a short headroom. */
  private readonly watched = new Set<string>();
  private ticker: NodeJS.Timeout | null = null;

  /** The other nodes' totals of ended windows go with this node's (one timer for both). */
  protected override sweep(now: number): void {
    super.sweep(now);
    for (const [k, r] of this.remote) if (r.expiresAt <= now) this.remote.delete(k);
    for (const [k, o] of this.own) if (o.expiresAt <= now) this.own.delete(k);
  }

  onChange(cb: (urgent: boolean) => void): void {
    this.notify = cb;
  }

  /** Where sums and holds changed by this node's own timer go (the workers). */
  onPush(cb: (entries: CounterEntry[]) => void): void {
    this.pushTo = cb;
  }

  setMembers(self: string, live: string[]): void {
    const ids = [...new Set([self, ...live])].sort();
    if (self === this.self && ids.length === this.members.length && ids.every((id, i) => id === this.members[i])) return;
    this.self = self;
    this.members = ids;
    this.live = new Set(ids);
    // A member gone or come changes every split: the keys waiting try again at the next slot.
    for (const [key, o] of this.own) if (o.limit !== Infinity) this.watch(key);
  }

  /** How many live members, and this node's place in their sorted ids (its first parts). */
  firstPartSplit(): { n: number; place: number } {
    return { n: this.members.length, place: Math.max(0, this.members.indexOf(this.self)) };
  }

  /** This node's view of a key's headroom: what is free, and what it may add to its cap. */
  private split(key: string, limit: number, cap: number, since: number, now: number): { free: number; add: number } {
    const peers = this.remote.get(key)?.byNode;
    return split({ limit, self: this.self, members: this.members, peers, cap, fresh: now - since < IDLE_MS, now });
  }

  /** The headroom this node must leave to the others: what the workers add to the sum. */
  private hold(key: string, o: Own, own: number): number {
    if (o.limit === Infinity) return 0;
    const sum = own + (this.remote.get(key)?.sum ?? 0);
    return Math.max(0, o.limit - sum - Math.max(0, o.cap - own));
  }

  /**
   * A key only the others counted: the workers may admit what this node would claim at its
   * first request (claim() then makes it its cap). When that is nothing but some headroom is
   * free, the key waits for this node's turn at the remainder.
   */
  private prospect(key: string, r: Remote, now: number): CounterEntry {
    const limit = limitOf(key);
    if (limit === Infinity) return [key, r.expiresAt, r.sum, 0];
    const { free, add: part } = this.split(key, limit, 0, r.since, now);
    if (!part && (free > 0 || now - r.since < IDLE_MS)) this.watch(key);
    return [key, r.expiresAt, r.sum, Math.max(0, limit - r.sum - part)];
  }

  private entry(key: string, o: Own): CounterEntry {
    const own = this.get(key, o.expiresAt);
    return [key, o.expiresAt, own + (this.remote.get(key)?.sum ?? 0), this.hold(key, o, own)];
  }

  /**
   * A node that has used its cap claims its part of the free headroom (the limit less its cap
   * and what the others hold). True when the cap changed: the others must hear it at once.
   */
  private claim(key: string, o: Own, now: number): boolean {
    const own = this.get(key, o.expiresAt);
    // Not used up, or used up and not asked since (a worker's next refusal says so).
    if (own < o.cap || now - o.lastAsked >= ASKED_MS) return false;
    const { free, add } = this.split(key, o.limit, o.cap, o.since, now);
    const cap = Math.max(own, o.cap + add);
    const took = cap - o.cap;
    o.cap = cap;
    // Waiting for its turn at the remainder (or for the key to be no longer fresh), or holding
    // a part of a headroom the others may lack.
    if (own >= cap ? free > 0 || now - o.since < IDLE_MS : free - took < this.members.length) this.watch(key);
    return took !== 0;
  }

  /** After news: claim if used up; else watch a part held of a headroom the others may lack (to give it back if unused). */
  private review(key: string, o: Own, now: number): boolean {
    if (this.get(key, o.expiresAt) >= o.cap) return this.claim(key, o, now);
    if (this.split(key, o.limit, o.cap, o.since, now).free < this.members.length) this.watch(key);
    return false;
  }

  /** Gives back the part of the cap unused for RELEASE_MS while others may be short of it. */
  private release(key: string, o: Own, now: number): boolean {
    const own = this.get(key, o.expiresAt);
    if (o.cap <= own || now - o.lastAsked < RELEASE_MS) return false;
    if (this.split(key, o.limit, o.cap, o.since, now).free >= this.members.length) return false;
    o.cap = own;
    return true;
  }

  private watch(key: string): void {
    this.watched.add(key);
    if (this.ticker) return;
    this.ticker = setInterval(() => this.tick(), SLOT_MS);
    this.ticker.unref();
  }

  /** Once a slot: the waiting keys claim with their new rank, the idle ones give back. */
  private tick(): void {
    const now = Date.now();
    const out: CounterEntry[] = [];
    let urgent = false;
    for (const key of [...this.watched]) {
      this.watched.delete(key);
      const o = this.own.get(key);
      const r = this.remote.get(key);
      if (!o) {
        if (r && r.expiresAt > now) out.push(this.prospect(key, r, now));
        continue;
      }
      if (o.expiresAt <= now) continue;
      const changed = this.claim(key, o, now) || this.release(key, o, now);
      if (o.cap > this.get(key, o.expiresAt) && this.split(key, o.limit, o.cap, o.since, now).free < this.members.length) this.watched.add(key);
      if (!changed) continue;
      o.changed = true;
      urgent = true;
      out.push(this.entry(key, o));
    }
    if (!this.watched.size && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = null;
    }
    if (out.length) this.pushTo?.(out);
    if (urgent) this.notify?.(true);
  }

  override merge(deltas: CounterEntry[]): CounterEntry[] {
    const out: CounterEntry[] = [];
    let changed = false;
    let urgent = false;
    const now = Date.now();
    for (const [key, expiresAt, by] of deltas) {
      const own = this.incr(key, expiresAt, by);
      if (!key.startsWith(CLUSTER_COUNTER_PREFIX)) {
        out.push([key, expiresAt, own]);
        continue;
      }
      let o = this.own.get(key);
      if (!o) this.own.set(key, (o = { limit: limitOf(key), expiresAt, cap: 0, since: this.remote.get(key)?.since ?? now, changed: false, lastAsked: now }));
      o.lastAsked = now;
      if (by) {
        o.changed = true;
        changed = true;
      }
      if (o.limit !== Infinity && this.claim(key, o, now)) {
        o.changed = true;
        urgent = true;
      }
      out.push(this.entry(key, o));
    }
    if (changed || urgent) this.notify?.(urgent);
    return out;
  }

  takeChanged(): CounterEntry[] {
    const out: CounterEntry[] = [];
    for (const [key, o] of this.own) {
      if (!o.changed) continue;
      o.changed = false;
      const own = this.get(key, o.expiresAt);
      out.push(o.limit === Infinity ? [key, o.expiresAt, own] : [key, o.expiresAt, own, Math.max(own, o.cap)]);
    }
    return out;
  }

  /**
   * Another member's totals and caps (a total is cumulative, so a repeated or late message
   * changes nothing); returns the new sums and holds for the workers. News of a key this
   * node has used its cap of lets it claim again.
   */
  applyRemote(node: string, entries: CounterEntry[]): CounterEntry[] {
    const out: CounterEntry[] = [];
    const now = Date.now();
    let urgent = false;
    for (const [key, expiresAt, total, cap = total] of entries) {
      if (!key.startsWith(CLUSTER_COUNTER_PREFIX) || expiresAt <= now || !Number.isFinite(total)) continue;
      let r = this.remote.get(key);
      if (!r) this.remote.set(key, (r = { byNode: new Map(), sum: 0, expiresAt, since: this.own.get(key)?.since ?? now }));
      const prev = r.byNode.get(node) ?? { total: 0, cap: 0 };
      if (total < prev.total || (total === prev.total && cap === prev.cap)) continue;
      r.byNode.set(node, { total, cap });
      r.sum += total - prev.total;
      const o = this.own.get(key);
      if (o && o.limit !== Infinity && this.review(key, o, now)) {
        o.changed = true;
        urgent = true;
      }
      out.push(o ? this.entry(key, o) : this.prospect(key, r, now));
    }
    if (urgent) this.notify?.(true);
    return out;
  }

  override close(): void {
    super.close();
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
  }
}
