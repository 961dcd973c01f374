// A traditional node: Postgres, the gossip strategy, the proxy, the cluster, the Admin API.
// Built in the order data flows (db → sync/cache → proxy; cluster beside; admin last, once the
// node can answer). Its modules load when this recipe is imported (start.ts), not before.
import { VERSION } from '../version.ts';
import type { NodeProxy } from '../proxy/node-proxy.ts';
import { PINO_LEVEL } from '../log.ts';
import { createClusterNodesStore } from '../db/cluster-nodes.ts';
import { pskFromSecret } from '../cluster/index.ts';
import { registerClustering } from '../hybrid/clustering-routes.ts';
import { registerConfigUnavailable } from '../admin/config-routes.ts';
import type { NodeContext } from './context.ts';
import type { StartedRole } from './role.ts';
import { startDatabasePart } from './parts/database.ts';
import { startEventSyncPart, writableAdmin } from './parts/event-sync.ts';
import { startProxyPart } from './parts/proxy.ts';
import { startClusterPart } from './parts/cluster.ts';
import { startAdminPart } from './parts/admin.ts';
import { startCounterSharePart } from './parts/counter-share.ts';
import { startPluginMessagesPart } from './parts/plugin-endpoints.ts';
import { registerUpstreamHealth } from '../admin/upstream-health.ts';

export async function startTraditional(node: NodeContext): Promise<StartedRole> {
  const { config, log } = node;
  const db = await startDatabasePart(node);
  let proxy: NodeProxy | null = null;
  const events = await startEventSyncPart(node, db.background, () => proxy);
  if (config.proxy_listen.length > 0) {
    proxy = await startProxyPart(node, { snapshot: () => events.store.snapshot(), logLevel: PINO_LEVEL[config.log_level] });
    // Changes applied while the workers were forking reached no proxy: hand over the cache as it is now.
    proxy.loadSnapshot(events.store.snapshot());
  }
  const cluster = await startClusterPart(node, {
    role: config.cluster_role,
    peers: config.cluster_peers,
    psk: pskFromSecret(db.secret),
    store: createClusterNodesStore(db.background),
    config_version: events.configVersion(),
    config_hash: events.configHash(),
  });
  events.attachCluster(cluster);
  startCounterSharePart(node, cluster, proxy);
  await startPluginMessagesPart(node, cluster, { store: () => events.store, proxy: () => proxy });
  const admin = await startAdminPart(node, {
    role: config.cluster_role,
    ...writableAdmin(db.pool, events, () => proxy),
    routes: (router) => {
      registerClustering(router, null);
      registerConfigUnavailable(router);
      registerUpstreamHealth(router, { pool: db.pool, nodeId: node.nodeId, health: () => proxy?.health ?? null });
    },
    cluster: () => cluster,
    proxyMetrics: () => (proxy ? proxy.metrics() : ''),
    store: () => events.store,
    proxy: () => proxy,
  });
  log.info({ node_id: node.nodeId, prefix: config.prefix, proxy: config.proxy_listen, admin: config.admin_listen, cluster: cluster.peerId, version: VERSION }, 'gossamer node started');
  return { admin, proxy, cluster, sync: events, events };
}
