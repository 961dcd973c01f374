// Rate-limit counters shared across the cluster (policy = cluster) by gossip, without a
// database round trip per request. Each node publishes its own totals of the keys it counted:
// at once when a count came close to its limit (NodeCounters decides: a node that used half of
// its share of the headroom left), else at most once per `intervalMs` (an idle node sends
// nothing); every node adds the others' latest totals to its own (src/proxy/node-counters.ts).
// Totals, not increments, travel: a message lost or repeated is corrected by the next one.
//
// The bound on overshoot: the headroom H left in a window is split between the N nodes, and a
// node shares once it admitted half its part, so what the others do not know of stays below
// H / 2 until the last few requests, which are shared one by one. What remains is what the
// nodes admit during one gossip hop (milliseconds) once the limit is reached: about
// (N - 1) / N x R x hop for a cluster-wide rate R. A message lost on the way (it is not
// retried; the next one carries the total) adds up to one lazy round: R x intervalMs at worst.

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
  let soon = false;
  let alone = false;
  const aliveOthers = () => cluster.members().filter((m) => m.id !== cluster.nodeId && (m.status === 'alive' || m.status === 'suspect')).length;

  const publish = (): void => {
    if (timer) clearTimeout(timer);
    timer = null;
    soon = false;
    const entries = o.counters?.takeChanged() ?? [];
    if (!entries.length) return;
    const alive = aliveOthers();
    o.counters?.setNodes(alive + 1);
    // Cut off from every peer, the node keeps counting its own requests: said once per outage.
    const nowAlone = alive === 0;
    if (nowAlone && !alone) log.warn('rate limiting: no other cluster member reachable; policy cluster counts on this node alone until one is');
    if (!nowAlone && alone) log.info('rate limiting: cluster members reachable again; policy cluster counts cluster-wide');
    alone = nowAlone;
    cluster.publish(COUNTERS_TOPIC, new TextEncoder().encode(JSON.stringify(entries))).catch((err: Error) => {
      log.debug({ err: err.message }, 'rate limiting: counters not published');
    });
  };

  o.counters?.onChange((urgent) => {
    if (urgent) {
      // Once per turn of the event loop: the workers' reports of this turn go in one message.
      if (!soon) {
        soon = true;
        setImmediate(publish);
      }
    } else timer ??= setTimeout(publish, o.intervalMs);
  });
  o.counters?.setNodes(aliveOthers() + 1);

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
