// GET /metrics: the metrics text (exposition format) of the primary's own families (cluster, events, sync) followed
// by the proxy workers' (requests, latency, plugins), which prom-client aggregates over IPC.
import client from 'prom-client';
import type { Router } from './router.ts';

export function registerMetrics(router: Router, proxyMetrics: () => Promise<string> | string): void {
  router.add('GET', '/metrics', async () => ({
    status: 200,
    headers: { 'Content-Type': client.register.contentType },
    body: (await client.register.metrics()) + (await proxyMetrics()),
  }));
}
