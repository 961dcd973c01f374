// Health of one target address of an upstream, counted the way Kong's lua-resty-healthcheck
// counts: consecutive failures of a kind reach their threshold → unhealthy; consecutive
// successes reach theirs → healthy again. Passive and active checks feed the same counters.
import type { HealthchecksConfig } from './healthchecks-config.ts';

export type Outcome = 'success' | 'http_failure' | 'tcp_failure' | 'timeout';

export class TargetHealth {
  healthy = true;
  successes = 0;
  httpFailures = 0;
  tcpFailures = 0;
  timeouts = 0;
  /** In-flight requests (least-connections). */
  active = 0;

  constructor(
    readonly target: string,
    readonly host: string,
    readonly port: number,
    public weight: number,
  ) {}

  /** Counts one outcome; true when it turned the target healthy or unhealthy. */
  record(outcome: Outcome, thresholds: HealthchecksConfig['passive'] | HealthchecksConfig['active']): boolean {
    if (outcome === 'success') {
      this.httpFailures = this.tcpFailures = this.timeouts = 0;
      this.successes++;
      if (!this.healthy && thresholds.healthy.successes > 0 && this.successes >= thresholds.healthy.successes) {
        this.healthy = true;
        return true;
      }
      return false;
    }
    this.successes = 0;
    const u = thresholds.unhealthy;
    let n = 0;
    let limit = 0;
    if (outcome === 'http_failure') (n = ++this.httpFailures), (limit = u.http_failures);
    else if (outcome === 'tcp_failure') (n = ++this.tcpFailures), (limit = u.tcp_failures);
    else (n = ++this.timeouts), (limit = u.timeouts);
    if (this.healthy && limit > 0 && n >= limit) {
      this.healthy = false;
      return true;
    }
    return false;
  }

  /** A verdict reached elsewhere (the node's active checker): counting starts over from it. */
  set(healthy: boolean): void {
    if (healthy === this.healthy) return;
    this.healthy = healthy;
    this.successes = this.httpFailures = this.tcpFailures = this.timeouts = 0;
  }
}
