// Kong's prometheus metric families under a gossamer_ prefix, in the proxy's prom-client
// registry that the node serves at /metrics (workers' registries are merged by the primary).
import { registry } from '../../proxy/metrics-registry.ts';
import { FastCounter, FastHistogram } from './fast-metrics.ts';

export { registry, enableDefaultMetrics } from '../../proxy/metrics-registry.ts';

// Kong's default latency buckets (ms).
const BUCKETS = [1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000, 3000, 6000];

export const httpRequests = new FastCounter({
  name: 'gossamer_http_requests_total',
  help: 'HTTP status codes per consumer/service/route in Gossamer',
  labelNames: ['service', 'route', 'code', 'source', 'consumer'] as const,
  registry,
});

export const latency = new FastHistogram(
  'gossamer_latency_ms',
  'Latency added by Gossamer (type=kong), spent upstream (type=upstream) and in total (type=request), in ms',
  BUCKETS,
  registry,
);

export const bandwidth = new FastCounter({
  name: 'gossamer_bandwidth_bytes',
  help: 'Total bandwidth (ingress/egress) in bytes',
  labelNames: ['service', 'route', 'direction', 'consumer'] as const,
  registry,
});

/** Prometheus text of this process (in-process proxy). With workers use ProxyWorkers.metrics(). */
export function metricsText(): Promise<string> {
  return registry.metrics();
}

export const metricsContentType = registry.contentType;
