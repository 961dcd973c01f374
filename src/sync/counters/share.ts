// Rate-limit counters shared across the cluster (policy = cluster) by gossip, without a
// database round trip per request. Each node publishes its own totals of the keys it counted,
// at most once per `intervalMs` and only when something changed (an idle node sends nothing);
// every node adds the others' latest totals to its own (src/proxy/node-counters.ts). Totals, not
// increments, travel: a message lost or repeated is corrected by the next one.
//
// The bound on overshoot: a node learns of the others' requests at most intervalMs plus one
// gossip hop late. Within a window, once the limit L is reached, each of the N nodes can still
// admit what reaches it in that time, so the cluster admits at most
//   L + (N - 1) / N x R x (intervalMs + hop)
// for a cluster-wide request rate R spread evenly (a node does see its own requests at once).
// With R = 5 x L per second-window, intervalMs = 20 and N = 5: about 0.08 x L.
import type { Logger } from 'pino';
import type { CounterEntry, SharedCounters } from '../../proxy/node-counters.ts';

export const COUNTERS_TOPIC = 'gossamer/counters/1';

/** What the sharing needs of the cluster (src/cluster/cluster.ts Cluster has it). */
export interface CounterCluster {
  publish(topic: string, data: Uint8Array): Promise<void>;
  subscribe(topic: string, handler: (data: Uint8Array, from: { id: string; name: string }) => void): () => void;
  members(): { id: string; status: string }[];
  readonly nodeId: string;
}

export interface ShareOptions {
  /** The node's proxy counters; null on a control plane, which only relays. */
  counters: SharedCounters | null;
  cluster: CounterCluster;
  intervalMs: number;
  log: Logger;
}

export function shareCounters(o: ShareOptions): () => void {
  const { cluster, log } = o;
  let timer: NodeJS.Timeout | null = null;
  let alone = false;
  const othersAlive = () => cluster.members().some((m) => m.id !== cluster.nodeId && (m.status === 'alive' || m.status === 'suspect'));

  const publish = (): void => {
    timer = null;
    const entries = o.counters?.takeChanged() ?? [];
    if (!entries.length) return;
    // Cut off from every peer, the node keeps counting its own requests: said once per outage.
    const nowAlone = !othersAlive();
    if (nowAlone && !alone) log.warn('rate limiting: no other cluster member reachable; policy cluster counts on this node alone until one is');
    if (!nowAlone && alone) log.info('rate limiting: cluster members reachable again; policy cluster counts cluster-wide');
    alone = nowAlone;
    cluster.publish(COUNTERS_TOPIC, new TextEncoder().encode(JSON.stringify(entries))).catch((err: Error) => {
      log.debug({ err: err.message }, 'rate limiting: counters not published');
    });
  };

  o.counters?.onChange(() => {
    timer ??= setTimeout(publish, o.intervalMs);
  });

  const unsubscribe = cluster.subscribe(COUNTERS_TOPIC, (data, from) => {
    if (!o.counters) return;
    let entries: CounterEntry[];
    try {
      entries = JSON.parse(new TextDecoder().decode(data)) as CounterEntry[];
      if (!Array.isArray(entries)) throw new Error('not a list');
    } catch (err) {
      log.warn({ from: from.name, err: (err as Error).message }, 'rate limiting: counters message refused');
      return;
    }
    o.counters.applyRemote(from.id, entries.filter((e) => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number' && typeof e[2] === 'number'));
  });

  return () => {
    if (timer) clearTimeout(timer);
    unsubscribe();
  };
}
