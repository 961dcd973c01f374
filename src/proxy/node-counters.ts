// The primary's counters with the cluster's share added. Keys under CLUSTER_COUNTER_PREFIX
// (rate limiting with policy = cluster) are counted by every node: this node's total of such a
// key is what its workers reported, and each other member's total arrives by gossip
// (src/sync/counters/share.ts). What a worker is told is the sum, so a limit holds across the
// cluster: it can be passed only by what the nodes admit before they hear of each other.
//
// When to share a count depends on how far it is from its limit (the key carries it): the
// headroom left is split between the nodes, and a node that has admitted half its part of it
// since it last shared says so at once ("urgent"); below that, its count waits for the next
// lazy round. Far from a limit a node sends about one message per round; close to one, every
// few requests, and at the limit none (what is refused is not counted).
import { CLUSTER_COUNTER_PREFIX } from '../plugins/types.ts';
import { LocalCounters } from './counters.ts';

export type CounterEntry = [key: string, expiresAt: number, total: number];

interface Shared {
  limit: number;
  /** Own increments since this key was last shared. */
  unshared: number;
  expiresAt: number;
}

interface Remote {
  byNode: Map<string, number>;
  sum: number;
  expiresAt: number;
}

/** What the cluster sharing needs of a node's counters (ProxyWorkers implements it). */
export interface SharedCounters {
  /** This node's totals of the shared keys it counted since the last call. */
  takeChanged(): CounterEntry[];
  /** Another member's totals: workers hear the new cluster-wide sums. */
  applyRemote(node: string, entries: CounterEntry[]): void;
  /** Called after a change: `urgent` when a count came close enough to its limit to share now. */
  onChange(cb: (urgent: boolean) => void): void;
  /** How many nodes count (this one included): the headroom is split between them. */
  setNodes(n: number): void;
}

/** The limit a shared key carries (`cluster|<limit>|...`); Infinity when it has none. */
function limitOf(key: string): number {
  const end = key.indexOf('|', CLUSTER_COUNTER_PREFIX.length);
  const n = end > 0 ? Number(key.slice(CLUSTER_COUNTER_PREFIX.length, end)) : NaN;
  return Number.isFinite(n) && n > 0 ? n : Infinity;
}

export class NodeCounters extends LocalCounters {
  private readonly remote = new Map<string, Remote>();
  private readonly changed = new Map<string, Shared>();
  private notify: ((urgent: boolean) => void) | null = null;
  private nodes = 1;

  /** The other nodes' totals of ended windows go with this node's (one timer for both). */
  protected override sweep(now: number): void {
    super.sweep(now);
    for (const [k, r] of this.remote) if (r.expiresAt <= now) this.remote.delete(k);
  }

  onChange(cb: (urgent: boolean) => void): void {
    this.notify = cb;
  }

  setNodes(n: number): void {
    this.nodes = Math.max(1, n);
  }

  private remoteSum(key: string): number {
    return this.remote.get(key)?.sum ?? 0;
  }

  override merge(deltas: CounterEntry[]): CounterEntry[] {
    const out: CounterEntry[] = [];
    let changed = false;
    let urgent = false;
    for (const [key, expiresAt, by] of deltas) {
      const own = this.incr(key, expiresAt, by);
      if (!key.startsWith(CLUSTER_COUNTER_PREFIX)) {
        out.push([key, expiresAt, own]);
        continue;
      }
      let sh = this.changed.get(key);
      if (!sh) this.changed.set(key, (sh = { limit: limitOf(key), unshared: 0, expiresAt }));
      sh.unshared += by;
      const total = own + this.remoteSum(key);
      // Each node's part of what is left; it shares once it has used half of its part.
      const part = Math.max(0, sh.limit - total) / this.nodes;
      if (sh.unshared >= Math.max(1, Math.floor(part / 2))) urgent = true;
      changed = true;
      out.push([key, expiresAt, total]);
    }
    if (changed) this.notify?.(urgent);
    return out;
  }

  takeChanged(): CounterEntry[] {
    const out: CounterEntry[] = [];
    for (const [key, sh] of this.changed) out.push([key, sh.expiresAt, this.get(key, sh.expiresAt)]);
    this.changed.clear();
    return out;
  }

  /** Another member's totals (cumulative, so a repeated or late message changes nothing); returns the new sums. */
  applyRemote(node: string, entries: CounterEntry[]): CounterEntry[] {
    const out: CounterEntry[] = [];
    const now = Date.now();
    for (const [key, expiresAt, total] of entries) {
      if (!key.startsWith(CLUSTER_COUNTER_PREFIX) || expiresAt <= now || !Number.isFinite(total)) continue;
      let r = this.remote.get(key);
      if (!r) this.remote.set(key, (r = { byNode: new Map(), sum: 0, expiresAt }));
      const prev = r.byNode.get(node) ?? 0;
      if (total <= prev) continue;
      r.byNode.set(node, total);
      r.sum += total - prev;
      out.push([key, expiresAt, this.get(key, expiresAt) + r.sum]);
    }
    return out;
  }
}
