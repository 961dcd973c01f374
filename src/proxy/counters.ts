// Rate-limit counters of one node. In-process they are a plain Map. With workers, the primary
// owns the totals: each worker counts locally, sends its deltas every SYNC_MS and receives the
// changed totals back, so it never waits on the primary. A worker's view is at most about two
// sync intervals old; the over-admission bound per window is therefore
// (workers - 1) x (that worker's request rate for the key) x 2 x SYNC_MS.
// Keys shared with the cluster (policy = cluster) go to the primary at once, and come back
// with a hold: the headroom the node leaves to the other nodes, added to the count, so a
// worker refuses once its node's part of the limit is used (src/proxy/node-counters.ts).
import { CLUSTER_COUNTER_PREFIX, type CounterStore } from '../plugins/types.ts';
import { allotment, SLOT_MS } from './allotment.ts';

export const SYNC_MS = 10;

/** The limit a shared key carries (`cluster|<limit>|...`); Infinity when it has none. */
export function limitOf(key: string): number {
  if (!key.startsWith(CLUSTER_COUNTER_PREFIX)) return Infinity;
  const end = key.indexOf('|', CLUSTER_COUNTER_PREFIX.length);
  const n = end > 0 ? Number(key.slice(CLUSTER_COUNTER_PREFIX.length, end)) : NaN;
  return Number.isFinite(n) && n > 0 ? n : Infinity;
}

interface Cell {
  value: number;
  expiresAt: number;
}

function sweep(map: Map<string, { expiresAt: number }>, now: number): void {
  for (const [k, c] of map) if (c.expiresAt <= now) map.delete(k);
}

export class LocalCounters implements CounterStore {
  private readonly cells = new Map<string, Cell>();
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.sweep(Date.now()), 1000);
    this.timer.unref();
  }

  /** Drops the windows that have ended (every second). */
  protected sweep(now: number): void {
    sweep(this.cells, now);
  }

  get(key: string, _expiresAt: number): number {
    return this.cells.get(key)?.value ?? 0;
  }

  incr(key: string, expiresAt: number, by: number): number {
    let c = this.cells.get(key);
    if (!c) this.cells.set(key, (c = { value: 0, expiresAt }));
    c.value += by;
    return c.value;
  }

  /** Primary side: merge a worker's deltas, return the new totals of those keys. */
  merge(deltas: [string, number, number][]): TotalsEntry[] {
    const out: TotalsEntry[] = [];
    for (const [key, expiresAt, by] of deltas) out.push([key, expiresAt, this.incr(key, expiresAt, by)]);
    return out;
  }

  close(): void {
    clearInterval(this.timer);
  }
}

interface WorkerCell {
  base: number; // total as last reported by the primary
  pending: number; // local increments not yet sent
  inflight: number; // sent, not yet reflected in base
  /** Headroom the primary keeps for the other nodes (policy = cluster: this node's cap is used). */
  hold: number;
  /** The key's limit (shared keys), and when this worker last told the primary it was held at it. */
  limit: number;
  askedAt: number;
  expiresAt: number;
}

/** [key, expiresAt, total, hold]: the hold only on shared keys. */
export type TotalsEntry = [key: string, expiresAt: number, total: number, hold?: number];

export type CounterMessage = { t: 'gossamer:rl'; entries: [string, number, number][] };

export class WorkerCounters implements CounterStore {
  private readonly cells = new Map<string, WorkerCell>();
  private readonly dirty = new Set<string>();
  /** Shared keys refused here only because of the node's cap: the primary hears it wants more. */
  private readonly wants = new Set<string>();
  /** Armed by the first increment after a flush: an idle worker does not wake 100 times a second. */
  private timer: NodeJS.Timeout | null = null;
  private soon = false;
  private readonly flushSoon = (): void => {
    this.soon = false;
    this.flush();
  };
  private readonly sweeper: NodeJS.Timeout;
  /** The node's live members and its place: a shared key first seen here holds all but the node's first part. */
  private split = { n: 1, place: 0 };

  constructor(private readonly send: (m: CounterMessage) => void) {
    this.sweeper = setInterval(() => sweep(this.cells, Date.now()), 1000);
    this.sweeper.unref();
  }

  setSplit(n: number, place: number): void {
    this.split = { n: Math.max(1, n), place };
  }

  /**
   * A cell; a shared key this worker has no news of starts with what its node would claim
   * first (allotment.ts): a burst here before the primary answers passes that part, not the
   * limit.
   */
  private cell(key: string, expiresAt: number): WorkerCell {
    let c = this.cells.get(key);
    if (c) return c;
    const limit = limitOf(key);
    const hold = limit === Infinity ? 0 : limit - allotment(limit, this.split.n, this.split.place);
    this.cells.set(key, (c = { base: 0, pending: 0, inflight: 0, hold, limit, askedAt: 0, expiresAt }));
    return c;
  }

  get(key: string, expiresAt: number): number {
    let c = this.cells.get(key);
    if (!c) {
      if (!key.startsWith(CLUSTER_COUNTER_PREFIX)) return 0;
      c = this.cell(key, expiresAt);
    }
    const v = c.base + c.inflight + c.pending + c.hold;
    if (c.hold > 0 && v >= c.limit) this.want(key, c);
    return v;
  }

  /**
   * A request refused for the node's cap, not the cluster's count: the primary, which sees
   * only what passes, hears that this node has requests (at most once a slot per key), so it
   * claims its turn of the headroom left rather than give its part back.
   */
  private want(key: string, c: WorkerCell): void {
    const now = Date.now();
    if (now - c.askedAt < SLOT_MS) return;
    c.askedAt = now;
    this.wants.add(key);
    this.flushNow();
  }

  private flushNow(): void {
    if (this.soon) return;
    this.soon = true;
    setImmediate(this.flushSoon);
  }

  incr(key: string, expiresAt: number, by: number): number {
    const c = this.cell(key, expiresAt);
    c.pending += by;
    this.dirty.add(key);
    // A count shared with the cluster (policy = cluster) goes to the primary this turn of the
    // event loop: the other nodes can only hold the limit with what they have heard.
    if (c.limit !== Infinity || key.startsWith(CLUSTER_COUNTER_PREFIX)) {
      this.flushNow();
      return c.base + c.inflight + c.pending + c.hold;
    }
    // Sent within SYNC_MS of the first pending increment, as a SYNC_MS interval would.
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flush();
      }, SYNC_MS);
      this.timer.unref();
    }
    return c.base + c.inflight + c.pending + c.hold;
  }

  private flush(): void {
    if (!this.dirty.size && !this.wants.size) return;
    const entries: [string, number, number][] = [];
    for (const k of this.dirty) {
      const c = this.cells.get(k);
      if (!c || !c.pending) continue;
      entries.push([k, c.expiresAt, c.pending]);
      c.inflight += c.pending;
      c.pending = 0;
      this.wants.delete(k);
    }
    this.dirty.clear();
    // A want is an increment of 0: the primary learns the node is asked for more than its cap.
    for (const k of this.wants) {
      const c = this.cells.get(k);
      if (c) entries.push([k, c.expiresAt, 0]);
    }
    this.wants.clear();
    if (entries.length) this.send({ t: 'gossamer:rl', entries });
  }

  /**
   * Totals from the primary (after merging everyone's deltas), with the hold of a shared key
   * (the latest replaces the one before: it shrinks when the node claims more). `own` marks
   * the reply to our own flush.
   */
  onTotals(entries: TotalsEntry[], own: Map<string, number> | null): void {
    for (const [key, expiresAt, total, hold = 0] of entries) {
      const c = this.cell(key, expiresAt);
      const acked = own?.get(key) ?? 0;
      c.inflight = Math.max(0, c.inflight - acked);
      c.base = Math.max(c.base, total - c.inflight);
      c.hold = hold;
    }
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    clearInterval(this.sweeper);
  }
}
