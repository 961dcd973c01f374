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

export function startTraffic(o: TrafficOptions): { stop(): Promise<void> } {
  const inflight = new Set<Promise<void>>();
  let i = 0;
  let stopped = false;
  const interval = 1000 / o.rate;
  const t0 = performance.now();
  let sent = 0;
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
  // Catch up on missed ticks so the rate holds when the event loop is busy.
  const timer = setInterval(() => {
    if (stopped) return;
    const due = Math.floor((performance.now() - t0) / interval);
    while (sent < due && inflight.size < (o.maxInFlight ?? 256)) {
      sent++;
      fire();
    }
    if (sent < due) sent = due; // over the in-flight cap: drop, do not pile up
  }, Math.max(5, Math.min(20, interval)));
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.all([...inflight]);
    },
  };
}
