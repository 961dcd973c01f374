import client from 'prom-client';
import type { MemberStatus } from './state.ts';

// prom-client's default registry is process-wide; several in-process cluster instances
// (tests, the 100-node simulation) share these metrics, so they are created once here.

const sources = new Set<() => Iterable<MemberStatus>>();

function once<T>(name: string, make: () => T): T {
  return (client.register.getSingleMetric(name) as T | undefined) ?? make();
}

export const membersGauge = once(
  'gossamer_cluster_members',
  () =>
    new client.Gauge({
      name: 'gossamer_cluster_members',
      help: 'Cluster members by status, as this node sees them',
      labelNames: ['status'],
      collect() {
        const counts: Record<MemberStatus, number> = { alive: 0, suspect: 0, failed: 0, left: 0 };
        for (const src of sources) for (const s of src()) counts[s]++;
        for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
      },
    }),
);

export const suspicionsTotal = once('gossamer_cluster_suspicions_total', () => new client.Counter({ name: 'gossamer_cluster_suspicions_total', help: 'Members this node started to suspect' }));

export const falseSuspicionsTotal = once(
  'gossamer_cluster_false_suspicions_total',
  () => new client.Counter({ name: 'gossamer_cluster_false_suspicions_total', help: 'Suspicions refuted by the suspected member (it was alive)' }),
);

export const probeRtt = once(
  'gossamer_cluster_probe_rtt_seconds',
  () =>
    new client.Histogram({
      name: 'gossamer_cluster_probe_rtt_seconds',
      help: 'Round-trip time of direct membership probes (libp2p ping)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    }),
);

export function registerMemberSource(src: () => Iterable<MemberStatus>): () => void {
  sources.add(src);
  return () => sources.delete(src);
}
