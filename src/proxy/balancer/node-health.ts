// The node's active health checks, run once in the primary process instead of once per proxy
// worker (Kong's workers share one health table; N workers probing N times would multiply the
// probes and let workers disagree). It follows the node's upstreams and targets and reports
// each verdict change, which the primary hands to every worker; verdicts the workers' passive
// checks reach come back through it the same way.
import type { ChangeEvent, ConfigSnapshot } from '../../entities/types.ts';
import { Balancers, type HealthReport } from './index.ts';

export class NodeHealthChecks {
  private readonly balancers = new Balancers();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly snapshot: () => ConfigSnapshot,
    onChange: (r: HealthReport) => void,
  ) {
    this.balancers.onHealthChange = onChange;
    this.reload(snapshot());
  }

  reload(s: ConfigSnapshot): void {
    this.balancers.rebuildFrom(s.upstreams, s.targets);
  }

  /** Upstream or target changes re-read the node's configuration (coalesced). */
  applyChanges(events: ChangeEvent[]): void {
    if (this.timer !== null || !events.some((e) => e.entity === 'upstreams' || e.entity === 'targets')) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.reload(this.snapshot());
    }, 20);
    this.timer.unref();
  }

  /** A verdict reached in a worker (passive checks). */
  apply(reports: HealthReport[]): void {
    this.balancers.applyHealth(reports);
  }

  reports(): HealthReport[] {
    return this.balancers.healthReports();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.balancers.stop();
  }
}
