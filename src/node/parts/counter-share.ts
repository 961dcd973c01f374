// Rate-limit counters shared by gossip (policy = cluster), on every role that has a cluster:
// nodes with a proxy publish and apply, a control plane subscribes so it relays between the
// data planes connected to it.
import type { Cluster } from '../../cluster/index.ts';
import type { NodeProxy } from '../../proxy/node-proxy.ts';
import { shareCounters } from '../../sync/counters/share.ts';
import type { NodeContext } from '../context.ts';

export function startCounterSharePart({ config, log, stops }: NodeContext, cluster: Cluster, proxy: NodeProxy | null): void {
  const stop = shareCounters({
    counters: proxy?.sharedCounters ?? null,
    cluster,
    intervalMs: config.cluster_counters_interval,
    log: log.child({ part: 'counters' }),
  });
  stops.push(stop);
}
