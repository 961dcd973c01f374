// The proxy process's prom-client registry: the metric families plugins register (a metrics
// plugin's counters) and this process's own metrics. Here, not in a plugin, because a worker
// hands it to prom-client's aggregator whichever plugins are configured.
import { Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();

let defaultsOn = false;
/** Process metrics (memory, event loop) once per process. */
export function enableDefaultMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  collectDefaultMetrics({ register: registry, prefix: 'gossamer_process_' });
}
