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

/**
 * Why the cluster port refused something (docs/security.md, "Cluster port"):
 * - cluster_key: the first bytes after the private-network layer are not multistream-select's
 *   header: the peer holds another cluster key (a data plane with another certificate) or sent noise;
 * - handshake: an inbound connection that did not complete the private-network nonce exchange
 *   or the noise handshake (a key holder sending garbage, a port scan that closes at once);
 * - certificate: with cluster_mtls = pki, a connection whose TLS handshake failed: the peer's
 *   certificate does not chain up to cluster_ca_cert, names another server, or was not sent
 *   (counted in both directions, as cluster_key);
 * - signature: a gossip message whose signature (or signed envelope) does not verify;
 * - malformed: a membership message that does not decode;
 * - oversized: a membership message over MAX_MEMBERSHIP_MESSAGE_BYTES;
 * - replay: a gossip message already seen, sent again by a peer that is no live member
 *   (members' duplicates are the mesh's ordinary redundancy and are not counted);
 * - forged: a membership message that speaks for another member, or an accusation whose
 *   accuser did not sign it;
 * - not_member: a message on an application topic signed by a peer that is no live member.
 */
export const REFUSAL_REASONS = ['cluster_key', 'certificate', 'handshake', 'signature', 'malformed', 'oversized', 'replay', 'forged', 'not_member'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export const refusedTotal = once('gossamer_cluster_refused_total', () => {
  const c = new client.Counter({ name: 'gossamer_cluster_refused_total', help: 'Connections and gossip messages the cluster port refused, by reason', labelNames: ['reason'] });
  // Every reason is listed from the start (at 0), so a rate() over it needs no first refusal.
  for (const reason of REFUSAL_REASONS) c.inc({ reason }, 0);
  return c;
});

/** Refusals are rare: the label object is made when one happens, never on the happy path. */
export function countRefusal(reason: RefusalReason): void {
  refusedTotal.inc({ reason });
}
