// The primary's counters with the cluster's share added. Keys under CLUSTER_COUNTER_PREFIX
// (rate limiting with policy = cluster) are counted by every node: this node's total of such a
// key is what its workers reported, and each other member's total arrives by gossip
// (src/sync/counters/share.ts, which also states the bound this gives).
//
// Each node may count a shared key only up to its cap. The cap starts at the node's first
// part of the limit (allotment.ts), which every node knows of every other without a message.
// A node that has used its cap says so and claims a share of what nobody holds; a node that
// hears a peer used its cap, and holds a part it is not asked for, gives it back. Caps travel
// with the totals. What a worker is told is the cluster-wide sum plus a hold: the headroom this
// node must leave to the others, so that the worker refuses once this node's cap is used.
import { CLUSTER_COUNTER_PREFIX } from '../plugins/types.ts';
import { firstPart, SLOT_MS, split, type PeerPart } from './allotment.ts';
import { LocalCounters, limitOf, type TotalsEntry } from './counters.ts';

/** Gossip: [key, expiresAt, this node's total, its cap, 1 when it used its cap and is asked for more]. */
export type CounterEntry = [key: string, expiresAt: number, total: number, cap?: number, wants?: number];

/** A node not asked for a key for this long gives back the part of its cap it holds unused, once a peer wants more. */
export const RELEASE_MS = 10 * SLOT_MS;
/** A node asked for a key within this long (a worker refused a request for its cap) claims its turn. */
const ASKED_MS = 2 * SLOT_MS;

interface Own {
  limit: number;
  expiresAt: number;
  cap: number;
  /** The cap at which this node last said it used its cap up (-1: not yet). */
  saidUsedUp: number;
  /** Counted, or the cap changed, since last shared. */
  changed: boolean;
  /** When a worker last counted or was refused a request for this node's cap (-Infinity: never). */
  lastAsked: number;
}

interface Remote {
  byNode: Map<string, PeerPart>;
  sum: number;
  expiresAt: number;
}

/** What the cluster sharing needs of a node's counters (ProxyWorkers implements it). */
export interface SharedCounters {
  /** This node's totals and caps of the shared keys that changed since the last call. */
  takeChanged(): CounterEntry[];
  /** Another member's totals and caps: workers hear the new cluster-wide sums. */
  applyRemote(node: string, entries: CounterEntry[]): void;
  /** Called after a change: `urgent` when a cap changed or was used up, which the others must hear at once. */
  onChange(cb: (urgent: boolean) => void): void;
  /** This node's id and the live proxying members' (this one included): the limit is split between them. */
  setMembers(self: string, live: string[]): void;
}

export class NodeCounters extends LocalCounters {
  private readonly own = new Map<string, Own>();
  private readonly remote = new Map<string, Remote>();
  private notify: ((urgent: boolean) => void) | null = null;
  private pushTo: ((entries: TotalsEntry[]) => void) | null = null;
  private self = '';
  private members: string[] = [''];
  /** Keys waiting for their turn at the remainder, or holding a part a peer may want. */
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
  onPush(cb: (entries: TotalsEntry[]) => void): void {
    this.pushTo = cb;
  }

  setMembers(self: string, live: string[]): void {
    const ids = [...new Set([self, ...live])].sort();
    if (self === this.self && ids.length === this.members.length && ids.every((id, i) => id === this.members[i])) return;
    this.self = self;
    this.members = ids;
    // A member gone or come changes every split: the keys are looked at again at the next slot.
    for (const [key, o] of this.own) if (o.limit !== Infinity) this.watch(key);
  }

  /** How many live members, and this node's place in their sorted ids (its first parts). */
  firstPartSplit(): { n: number; place: number } {
    return { n: this.members.length, place: Math.max(0, this.members.indexOf(this.self)) };
  }

  private split(key: string, o: Own, now: number): { free: number; add: number; othersWant: boolean } {
    return split({ limit: o.limit, self: this.self, members: this.members, peers: this.remote.get(key)?.byNode, cap: o.cap, now });
  }

  private newOwn(key: string, expiresAt: number, lastAsked: number): Own {
    const limit = limitOf(key);
    const cap = limit === Infinity ? 0 : firstPart(limit, this.members, this.self);
    const o: Own = { limit, expiresAt, cap, saidUsedUp: -1, changed: false, lastAsked };
    this.own.set(key, o);
    return o;
  }

  /** The headroom this node must leave to the others: what the workers add to the sum. */
  private entry(key: string, o: Own): TotalsEntry {
    const own = this.get(key, o.expiresAt);
    const sum = own + (this.remote.get(key)?.sum ?? 0);
    const hold = o.limit === Infinity ? 0 : Math.max(0, o.limit - sum - Math.max(0, o.cap - own));
    return [key, o.expiresAt, sum, hold];
  }

  /**
   * A node that has used its cap and is asked for more claims its part of the free headroom.
   * True when its cap changed, or when it used its cap up and has not said so: the others must
   * hear either at once (one holding a part it is not asked for gives it back).
   */
  private claim(key: string, o: Own, now: number): boolean {
    const own = this.get(key, o.expiresAt);
    // Not used up, or used up and not asked since (a worker's next refusal says so).
    if (own < o.cap || now - o.lastAsked >= ASKED_MS) return false;
    const { free, add } = this.split(key, o, now);
    const cap = Math.max(own, o.cap + add);
    const took = cap - o.cap;
    o.cap = cap;
    if (own >= cap && free > 0) this.watch(key); // its turn at the remainder comes
    if (own >= cap && o.saidUsedUp !== cap) {
      o.saidUsedUp = cap;
      return true;
    }
    return took !== 0;
  }

  /** Gives back the part of the cap not asked for within RELEASE_MS, once a peer wants more. */
  private release(key: string, o: Own, now: number): boolean {
    const own = this.get(key, o.expiresAt);
    if (o.cap <= own || !this.split(key, o, now).othersWant) return false;
    if (now - o.lastAsked < RELEASE_MS) {
      this.watch(key);
      return false;
    }
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
    const out: TotalsEntry[] = [];
    let urgent = false;
    for (const key of [...this.watched]) {
      this.watched.delete(key);
      const o = this.own.get(key);
      if (!o || o.expiresAt <= now) continue;
      if (!this.claim(key, o, now) && !this.release(key, o, now)) continue;
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

  override merge(deltas: [string, number, number][]): TotalsEntry[] {
    const out: TotalsEntry[] = [];
    let changed = false;
    let urgent = false;
    const now = Date.now();
    for (const [key, expiresAt, by] of deltas) {
      const own = this.incr(key, expiresAt, by);
      if (!key.startsWith(CLUSTER_COUNTER_PREFIX)) {
        out.push([key, expiresAt, own]);
        continue;
      }
      const o = this.own.get(key) ?? this.newOwn(key, expiresAt, now);
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
      if (o.limit === Infinity) out.push([key, o.expiresAt, own]);
      else if (own >= o.cap && Date.now() - o.lastAsked < ASKED_MS) out.push([key, o.expiresAt, own, o.cap, 1]);
      else out.push([key, o.expiresAt, own, Math.max(own, o.cap)]);
    }
    return out;
  }

  /**
   * Another member's totals and caps (a total is cumulative, so a repeated or late message
   * changes nothing); returns the new sums and holds for the workers. A peer that used its cap
   * up makes this node give back what it is not asked for; any news lets a node that used
   * its own cap claim again.
   */
  applyRemote(node: string, entries: CounterEntry[]): TotalsEntry[] {
    const out: TotalsEntry[] = [];
    const now = Date.now();
    let urgent = false;
    for (const [key, expiresAt, total, cap = total, wantsMore] of entries) {
      if (!key.startsWith(CLUSTER_COUNTER_PREFIX) || expiresAt <= now || !Number.isFinite(total)) continue;
      let r = this.remote.get(key);
      if (!r) this.remote.set(key, (r = { byNode: new Map(), sum: 0, expiresAt }));
      // Not heard of before (a first part given back is news too: total = cap = 0).
      const prev = r.byNode.get(node);
      const peer: PeerPart = { total, cap, wants: wantsMore === 1 };
      if (prev && (total < prev.total || (total === prev.total && cap === prev.cap && peer.wants === prev.wants))) continue;
      r.byNode.set(node, peer);
      r.sum += total - (prev?.total ?? 0);
      let o = this.own.get(key);
      if (!o && peer.wants && limitOf(key) !== Infinity) o = this.newOwn(key, expiresAt, -Infinity);
      if (o && o.limit !== Infinity && (this.claim(key, o, now) || this.release(key, o, now))) {
        o.changed = true;
        urgent = true;
      }
      out.push(o ? this.entry(key, o) : this.presumed(key, r));
    }
    if (urgent) this.notify?.(true);
    return out;
  }

  /** A key this node has not counted: its workers may pass its first part of what is left. */
  private presumed(key: string, r: Remote): TotalsEntry {
    const limit = limitOf(key);
    const part = limit === Infinity ? 0 : firstPart(limit, this.members, this.self);
    return [key, r.expiresAt, r.sum, limit === Infinity ? 0 : Math.max(0, limit - r.sum - part)];
  }

  override close(): void {
    super.close();
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
  }
}
