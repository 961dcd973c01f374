// prom-client metrics of the change-event machinery. prom-client's registry is process-wide and
// tests run several EventSyncs in one process, so gauges read from the most recent source.
import client from 'prom-client';

export interface EventsMetricsSource {
  configVersion(): number;
  lowWater(): number;
  dbReachable(): boolean;
}

let source: EventsMetricsSource | null = null;

function once<T>(name: string, make: () => T): T {
  return (client.register.getSingleMetric(name) as T | undefined) ?? make();
}

once(
  'gossamer_config_version',
  () =>
    new client.Gauge({
      name: 'gossamer_config_version',
      help: 'Highest config_version applied to this node cache',
      collect() {
        if (source) this.set(source.configVersion());
      },
    }),
);

once(
  'gossamer_config_version_low_water',
  () =>
    new client.Gauge({
      name: 'gossamer_config_version_low_water',
      help: 'Every config_version at or below this one is applied (or was rolled back)',
      collect() {
        if (source) this.set(source.lowWater());
      },
    }),
);

once(
  'gossamer_database_reachable',
  () =>
    new client.Gauge({
      name: 'gossamer_database_reachable',
      help: '1 when the last read of cluster_events reached Postgres',
      collect() {
        if (source) this.set(source.dbReachable() ? 1 : 0);
      },
    }),
);

export const eventsReceived = once(
  'gossamer_change_events_total',
  () => new client.Counter({ name: 'gossamer_change_events_total', help: 'Change events applied to the node cache, by how they arrived', labelNames: ['source'] }),
);

export const repairsTotal = once(
  'gossamer_cache_repairs_total',
  () => new client.Counter({ name: 'gossamer_cache_repairs_total', help: 'Reads of cluster_events and full reloads, by reason', labelNames: ['reason', 'kind'] }),
);

export function setEventsMetricsSource(s: EventsMetricsSource | null): void {
  source = s;
}
