// A control plane: Postgres, the gossip strategy with the other control planes, the cluster,
// and the Admin API, which also serves its data planes (src/sync/push/control-plane.ts) and
// answers /clustering/*. No proxy.
import type pg from 'pg';
import { VERSION } from '../version.ts';
import { createClusterNodesStore } from '../db/cluster-nodes.ts';
import { attachControlPlane, withoutDataPlanes } from '../sync/push/control-plane.ts';
import { clusterPsk } from '../hybrid/psk.ts';
import { clusterTlsOf } from '../hybrid/pki.ts';
import { registerClustering } from '../hybrid/clustering-routes.ts';
import { registerConfigUnavailable } from '../admin/config-routes.ts';
import { logRefusedConnections } from '../hybrid/refusals.ts';
import type { Router } from '../admin/router.ts';
import type { Cluster } from '../cluster/index.ts';
import type { EventSync } from '../sync/gossip/event-sync.ts';
import type { NodeContext } from './context.ts';
import type { StartedRole } from './role.ts';
import { startDatabasePart } from './parts/database.ts';
import { startEventSyncPart, writableAdmin } from './parts/event-sync.ts';
import { startClusterPart } from './parts/cluster.ts';
import { startAdminPart } from './parts/admin.ts';
import { startCounterSharePart } from './parts/counter-share.ts';
import { startPluginMessagesPart } from './parts/plugin-endpoints.ts';

export async function startControlPlane(node: NodeContext): Promise<StartedRole> {
  const { config, log } = node;
  const db = await startDatabasePart(node);
  const events = await startEventSyncPart(node, db.background, () => null);
  const cluster = await startClusterPart(node, {
    role: config.cluster_role,
    peers: config.cluster_peers,
    psk: clusterPsk(config, db.secret, log),
    tls: await clusterTlsOf(config, log.child({ part: 'cluster' })),
    store: createClusterNodesStore(db.background),
    config_version: events.configVersion(),
    config_hash: events.configHash(),
  });
  // Data planes are members, but what they announce is no reason to read Postgres again.
  events.attachCluster(withoutDataPlanes(cluster));
  startCounterSharePart(node, cluster, null);
  await startPluginMessagesPart(node, cluster, { store: () => events.store, proxy: () => null });
  const admin = await startAdminPart(node, {
    role: config.cluster_role,
    ...writableAdmin(db.pool, events, () => null),
    routes: (router) => serveDataPlanes(node, cluster, events, db.pool, router),
    cluster: () => cluster,
    proxyMetrics: () => '',
    store: () => events.store,
  });
  log.info({ node_id: node.nodeId, prefix: config.prefix, proxy: config.proxy_listen, admin: config.admin_listen, cluster: cluster.peerId, version: VERSION }, 'gossamer node started');
  return { admin, proxy: null, cluster, sync: events, events };
}

/** The sync protocol and the push to data planes, and /clustering/* over what they learn. */
async function serveDataPlanes(node: NodeContext, cluster: Cluster, events: EventSync, pool: pg.Pool, router: Router): Promise<void> {
  const log = node.log.child({ part: 'hybrid' });
  const cp = await attachControlPlane({ cluster, events, pool, log });
  node.stops.push(cp.stop);
  logRefusedConnections(cluster.libp2p, log);
  registerConfigUnavailable(router);
  registerClustering(router, {
    cluster: () => cluster,
    dataPlanes: () => cp.dataPlanes,
    configHash: () => events.configHash(),
    configVersion: () => events.configVersion(),
  });
}
