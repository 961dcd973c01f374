// Client traffic at a fixed rate through the load balancer to routes that exist for the
// whole run (the base routes): what the cluster's users see.
import type { Recorder, RequestEvent } from '../history.ts';
import { call } from './http.ts';

export interface TrafficOptions {
  url: string;
  rate: number;
  paths: string[];
  recorder: Recorder;
  servedByHeader?: string;
  timeoutMs?: number;
  maxInFlight?: number;
}

export function startTraffic(o: TrafficOptions): { stop(): Promise<void>; skipped(): number } {
  const inflight = new Set<Promise<void>>();
  let i = 0;
  let stopped = false;
  const interval = 1000 / o.rate;
  const t0 = performance.now();
  let sent = 0;
  let skipped = 0;
  const fire = () => {
    const path = o.paths[i++ % o.paths.length]!;
    const t = o.recorder.now();
    const p = call('GET', `${o.url}${path}`, { timeoutMs: o.timeoutMs ?? 2000 }).then((r) => {
      const served = o.servedByHeader ? r.headers[o.servedByHeader] : undefined;
      o.recorder.add<RequestEvent>({ kind: 'request', t, latency: r.latency, path, status: r.status, ...(r.error ? { error: r.error } : {}), ...(typeof served === 'string' ? { node: served } : {}) });
    });
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };
  // Open loop at the set rate, but no catch-up bursts after a stall and at most one second's
  // worth of requests in flight: a load generator that piles on when the cluster slows down
  // measures its own congestion collapse, not the cluster.
  const cap = o.maxInFlight ?? Math.max(8, Math.ceil(o.rate));
  const timer = setInterval(() => {
    if (stopped) return;
    const due = Math.floor((performance.now() - t0) / interval);
    if (due - sent > 2) {
      skipped += due - sent - 2;
      sent = due - 2;
    }
    while (sent < due) {
      sent++;
      if (inflight.size >= cap) skipped++;
      else fire();
    }
  }, Math.max(5, Math.min(20, interval)));
  return {
    skipped: () => skipped,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.all([...inflight]);
    },
  };
}
