// Active health checks of one upstream's targets (Kong's healthchecks.active): probe
// http_path on each target every healthy.interval (healthy targets) or unhealthy.interval
// (unhealthy ones) and feed the result into the target's counters.
import type { Agent } from 'undici';
import type { UpstreamBalancer } from './upstream-balancer.ts';
import type { TargetHealth } from './target-health.ts';

// undici loads at the first probe: a node's primary holds balancers (for the Admin API's health
// endpoints) but seldom probes, and loading undici is ~0.13 s of CPU at every start.
let client: Promise<{ agent: Agent; request: typeof import('undici').request }> | null = null;
const undici = () =>
  (client ??= import('undici').then(({ Agent, request }) => ({ agent: new Agent({ keepAliveTimeout: 1000, connections: 4 }), request })));

export class ActiveChecker {
  private timer: NodeJS.Timeout | null = null;
  private readonly lastRun = new Map<TargetHealth, number>();
  private readonly inFlight = new Set<TargetHealth>();
  private stopped = false;

  constructor(private readonly balancer: UpstreamBalancer) {}

  /** (Re)start according to the balancer's current config; no-op when both intervals are 0. */
  start(): void {
    this.stop();
    this.stopped = false;
    const a = this.balancer.cfg.active;
    const intervals = [a.healthy.interval, a.unhealthy.interval].filter((n) => n > 0);
    if (!intervals.length) return;
    const tick = Math.max(50, Math.min(...intervals) * 1000 / 2);
    this.timer = setInterval(() => this.run(), tick);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private run(): void {
    const a = this.balancer.cfg.active;
    const now = Date.now();
    for (const t of this.balancer.targets) {
      if (t.weight <= 0 || this.inFlight.has(t)) continue;
      const every = (t.healthy ? a.healthy.interval : a.unhealthy.interval) * 1000;
      if (every <= 0) continue;
      if (now - (this.lastRun.get(t) ?? 0) < every) continue;
      if (this.inFlight.size >= a.concurrency) break;
      this.lastRun.set(t, now);
      this.inFlight.add(t);
      void this.probe(t).finally(() => this.inFlight.delete(t));
    }
  }

  private async probe(t: TargetHealth): Promise<void> {
    const a = this.balancer.cfg.active;
    const host = t.host.includes(':') ? `[${t.host}]` : t.host;
    const timeout = Math.max(1, a.timeout * 1000);
    try {
      const { agent, request } = await undici();
      const res = await request(`http://${host}:${t.port}${a.http_path}`, {
        method: 'GET',
        dispatcher: agent,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        headers: flattenHeaders(a.headers),
      });
      await res.body.dump();
      if (this.stopped) return;
      let changed = false;
      if (a.unhealthy.http_statuses.includes(res.statusCode)) changed = t.record('http_failure', a);
      else if (a.healthy.http_statuses.includes(res.statusCode)) changed = t.record('success', a);
      if (changed) this.balancer.onHealthChange?.(t);
    } catch (err) {
      if (this.stopped) return;
      const code = (err as { code?: string }).code ?? '';
      if (t.record(code.includes('TIMEOUT') ? 'timeout' : 'tcp_failure', a)) this.balancer.onHealthChange?.(t);
    }
  }
}

function flattenHeaders(h: Record<string, string[]> | null): Record<string, string> | undefined {
  if (!h) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) out[k] = Array.isArray(v) ? v.join(', ') : String(v);
  return out;
}
