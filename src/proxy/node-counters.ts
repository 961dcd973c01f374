// The primary's counters with the cluster's share added. Keys under CLUSTER_COUNTER_PREFIX
// (rate limiting with policy = cluster) are counted by every node: this node's total of such a
// key is what its workers reported, and each other member's total arrives by gossip
// (src/sync/counters/share.ts). What a worker is told is the sum, so a limit holds across the
// cluster: it can be passed only by what the nodes admit before they hear of each other.
import { CLUSTER_COUNTER_PREFIX } from '../plugins/types.ts';
import { LocalCounters } from './counters.ts';

export type CounterEntry = [key: string, expiresAt: number, total: number];

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
  /** Called once after the first change following takeChanged(). */
  onChange(cb: () => void): void;
}

export class NodeCounters extends LocalCounters {
  private readonly remote = new Map<string, Remote>();
  private readonly changed = new Map<string, number>();
  private notify: (() => void) | null = null;
  private readonly remoteSweeper: NodeJS.Timeout;

  constructor() {
    super();
    this.remoteSweeper = setInterval(() => {
      const now = Date.now();
      for (const [k, r] of this.remote) if (r.expiresAt <= now) this.remote.delete(k);
    }, 1000);
    this.remoteSweeper.unref();
  }

  onChange(cb: () => void): void {
    this.notify = cb;
  }

  private remoteSum(key: string): number {
    return this.remote.get(key)?.sum ?? 0;
  }

  override merge(deltas: CounterEntry[]): CounterEntry[] {
    const out: CounterEntry[] = [];
    const before = this.changed.size;
    for (const [key, expiresAt, by] of deltas) {
      const own = this.incr(key, expiresAt, by);
      if (key.startsWith(CLUSTER_COUNTER_PREFIX)) {
        this.changed.set(key, expiresAt);
        out.push([key, expiresAt, own + this.remoteSum(key)]);
      } else out.push([key, expiresAt, own]);
    }
    if (before === 0 && this.changed.size > 0) this.notify?.();
    return out;
  }

  takeChanged(): CounterEntry[] {
    const out: CounterEntry[] = [];
    for (const [key, expiresAt] of this.changed) out.push([key, expiresAt, this.get(key, expiresAt)]);
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

  override close(): void {
    super.close();
    clearInterval(this.remoteSweeper);
  }
}
