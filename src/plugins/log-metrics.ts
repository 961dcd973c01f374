// What the logging plugins count in /metrics: entries they could not deliver, by plugin and
// reason (queue_full: the oldest entry made room for a new one; retries_exhausted: a batch the
// collector did not take within max_retry_time). Registered in the proxy's registry, which the
// node merges across workers.
import { Counter } from 'prom-client';
import { registry } from '../proxy/metrics-registry.ts';

export const droppedEntries = new Counter({
  name: 'gossamer_log_entries_dropped_total',
  help: 'Log entries a logging plugin dropped, by plugin and reason',
  labelNames: ['plugin', 'reason'] as const,
  registers: [registry],
});
