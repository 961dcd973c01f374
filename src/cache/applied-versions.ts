// Which config_versions this node has applied. Versions come from a Postgres sequence taken
// inside transactions, so they commit out of order and a rolled-back transaction leaves a
// permanent hole. The tracker keeps a low-water mark (every version at or below it is
// applied or known dead) plus the applied versions above it, and decides when a missing
// version is dead using transaction ids: see afterDbRead.
//
// Correctness of what the cache holds does not depend on this tracker (the Postgres read
// cursor is by transaction id and every entity is last-writer-wins by version, see
// node-cache.ts); the tracker decides when a gap is worth an immediate database read.

/** Beyond this many missing versions, the oldest are given up as dead at once (a node far behind reloads anyway). */
const MAX_TRACKED_HOLES = 10_000;

export class AppliedVersions {
  /** Every version <= low is applied or dead. */
  low = 0;
  /** Highest applied version: what the node announces as its config_version. */
  max = 0;
  /** Highest version visible in the last database read: gaps at or below it were already looked for. */
  examined = 0;
  private above = new Set<number>();
  /** Missing version → pg_snapshot_xmax of the first read that saw a higher version committed. */
  private pending = new Map<number, bigint>();

  /** State after a full snapshot load: `visible` are the versions committed in that snapshot. */
  reset(visible: number[], xmax: bigint): void {
    this.above.clear();
    this.pending.clear();
    const sorted = [...visible].sort((a, b) => a - b);
    // Versions below the oldest retained event were cleaned up long after they committed.
    this.low = sorted.length ? sorted[0]! - 1 : 0;
    this.max = this.low;
    for (const v of sorted) this.mark(v);
    this.examined = this.max;
    this.noteMissing(this.max, xmax);
  }

  has(v: number): boolean {
    return v <= this.low || this.above.has(v);
  }

  mark(v: number): void {
    if (v > this.max) this.max = v;
    if (v <= this.low) return;
    this.above.add(v);
    this.pending.delete(v);
    this.advance();
  }

  /**
   * True when a version below `v` is missing and no database read has looked for it yet:
   * the event arrived before one it follows, so read Postgres now.
   */
  gapBefore(v: number): boolean {
    const from = Math.max(this.low, this.examined) + 1;
    if (v - from > 1000) return true;
    for (let u = from; u < v; u++) if (!this.above.has(u)) return true;
    return false;
  }

  /**
   * After reading cluster_events in one snapshot (xmin, xmax, the highest version visible).
   * A version u missing below a visible one was taken before that snapshot, by a transaction
   * that (having written its entity row first) already had a transaction id below the
   * snapshot's xmax. Once a later snapshot's xmin reaches that xmax, that transaction has
   * ended; if u is still not visible it was rolled back and the hole is dead.
   */
  afterDbRead(xmin: bigint, xmax: bigint, maxVisible: number): void {
    for (const [u, seenXmax] of this.pending) {
      if (xmin >= seenXmax) {
        this.pending.delete(u);
        this.above.add(u); // dead: counts as done for the low-water mark
      }
    }
    this.advance();
    this.noteMissing(maxVisible, xmax);
    if (maxVisible > this.examined) this.examined = maxVisible;
  }

  /** Missing versions still possibly in flight (for status and tests). */
  pendingVersions(): number[] {
    return [...this.pending.keys()].sort((a, b) => a - b);
  }

  private noteMissing(upTo: number, xmax: bigint): void {
    let from = this.low + 1;
    if (upTo - from > MAX_TRACKED_HOLES) {
      // Give up the oldest: a node this far behind is caught up by its transaction-id cursor.
      for (let u = from; u <= upTo - MAX_TRACKED_HOLES; u++) this.above.add(u);
      this.advance();
      from = this.low + 1;
    }
    for (let u = from; u < upTo; u++) if (!this.above.has(u) && !this.pending.has(u)) this.pending.set(u, xmax);
  }

  private advance(): void {
    while (this.above.has(this.low + 1)) {
      this.above.delete(this.low + 1);
      this.low++;
    }
  }
}
