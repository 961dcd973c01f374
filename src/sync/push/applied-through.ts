// Which config_versions a data plane holds: a mark below which every version is applied (or
// dead, or inside a loaded snapshot) and the versions applied above it. A gap above the mark
// is what makes a data plane ask a control plane for the events it lacks.
//
// Not src/cache/applied-versions.ts: that one tells a dead version (a rolled-back transaction)
// by Postgres transaction ids, which a data plane never sees. Here the control plane's answer
// says through which version it is complete, and the mark moves there.
export class AppliedThrough {
  /** Every version <= through is applied, dead or in a snapshot we loaded. */
  through = 0;
  private readonly ahead = new Set<number>();

  /** Some version above the mark is applied while one below it is missing. */
  get gap(): boolean {
    return this.ahead.size > 0;
  }

  track(v: number): void {
    if (v > this.through) this.ahead.add(v);
  }

  advance(): void {
    while (this.ahead.has(this.through + 1)) {
      this.ahead.delete(this.through + 1);
      this.through++;
    }
  }

  /** Everything through `v` is held (a snapshot at v, or a control plane's complete answer). */
  moveTo(v: number): void {
    this.through = v;
    for (const u of this.ahead) if (u <= this.through) this.ahead.delete(u);
  }

  /** Forget the versions above the mark (their events were dropped). */
  forgetAhead(): void {
    this.ahead.clear();
  }
}
