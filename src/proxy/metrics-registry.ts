// The proxy process's prom-client registry: the metric families plugins register (a metrics
// plugin's counters) and this process's own metrics. Here, not in a plugin, because a worker
// hands it to prom-client's aggregator whichever plugins are configured.
import { Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();

/** Period of the event-loop delay samples behind gossamer_process_nodejs_eventloop_lag_*. */
const LAG_SAMPLE_MS = 1000;

let defaultsOn = false;
/** Process metrics (memory, event loop) once per process. */
export function enableDefaultMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  // prom-client samples the event loop's delay with a timer at this period (its default, 10 ms,
  // woke an idle worker 100 times a second: most of its idle CPU). A stall still delays the next
  // sample by its length, so the lag figures keep showing stalls; only sub-second ones between
  // two samples go unseen.
  collectDefaultMetrics({ register: registry, prefix: 'gossamer_process_', eventLoopMonitoringPrecision: LAG_SAMPLE_MS });
}
