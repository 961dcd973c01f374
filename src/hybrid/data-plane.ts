// A data plane: no database, ever. Its configuration comes from a control plane over libp2p
// (dp-sync.ts) and is kept on disk (level-store.ts) so it serves right after a restart even
// while every control plane is down. Order matters: cached configuration → proxy → Admin
// API → cluster, so traffic is served before any control plane is reached.
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config/index.ts';
import { isLoopback, redactedConfig } from '../config/index.ts';
import type { Logger } from '../log.ts';
import { VERSION } from '../version.ts';
import { createAdminServer, type AdminServer } from '../admin/index.ts';
import { registerClusterMembers } from '../admin/cluster-members.ts';
import { settingsFromConfig, startCluster, type Cluster } from '../cluster/index.ts';
import { startNodeProxy, type NodeProxy } from '../proxy/node-proxy.ts';
import { StartError } from '../node.ts';
import { loadClusterIdentity } from './cert.ts';
import { registerClustering } from './clustering-routes.ts';
import { READ_ONLY_MESSAGE, registerDataPlaneAdmin } from './dp-admin.ts';
import { dataPlaneHello, DataPlaneSync } from './dp-sync.ts';
import { DpCacheStore } from './level-store.ts';
import { logRefusedConnections } from './refusals.ts';
import { registerMetrics } from '../admin/metrics.ts';

export interface DataPlaneDeps {
  config: Config;
  log: Logger;
  nodeId: string;
  /** The node's stop list (run in reverse): each part started here adds its stop. */
  stops: (() => Promise<void> | void)[];
}

export interface DataPlane {
  admin: AdminServer | null;
  proxy: NodeProxy | null;
  cluster: Cluster | null;
  sync: DataPlaneSync;
}


export async function startDataPlane({ config, log, nodeId, stops }: DataPlaneDeps): Promise<DataPlane> {
  let identity: ReturnType<typeof loadClusterIdentity>;
  try {
    identity = loadClusterIdentity(config.cluster_cert, config.cluster_cert_key);
  } catch (err) {
    throw new StartError((err as Error).message);
  }
  const hlog = log.child({ part: 'hybrid' });
  const store = new DpCacheStore(path.join(config.prefix, 'dp-cache'), hlog);
  stops.push(() => store.close());

  let proxy: NodeProxy | null = null;
  const sync = new DataPlaneSync({
    log: hlog,
    store,
    hello: dataPlaneHello({ nodeId, name: config.node_name, version: VERSION }),
    controlPlanes: config.cluster_control_plane,
    onSnapshot: (snap) => proxy?.loadSnapshot(snap),
    onEvents: (events) => proxy?.applyChanges(events),
  });
  await sync.loadFromDisk();

  // The proxy runs in worker_processes workers, as on a traditional node: decoding a large
  // snapshot in the primary never holds up a request.
  if (config.proxy_listen.length > 0) {
    const p = await startNodeProxy({
      workerProcesses: config.worker_processes,
      listen: config.proxy_listen,
      snapshot: () => sync.cache.snapshot(),
      logger: log.child({ part: 'proxy' }),
      nodeName: config.node_name,
      logLevel: log.level,
      ssl: { cert: config.ssl_cert, key: config.ssl_cert_key, prefix: config.prefix },
    }).catch((err: Error) => {
      throw new StartError(err.message);
    });
    proxy = p;
    stops.push(() => p.stop());
    sync.servingSinceStartMs = Math.round(process.uptime() * 1000);
  }

  let cluster: Cluster | null = null;
  let admin: AdminServer | null = null;
  if (config.admin_listen.length > 0) {
    const a = createAdminServer({
      pool: null,
      nodeInfo: { id: nodeId, name: config.node_name, hostname: os.hostname(), version: VERSION, role: 'data_plane' },
      configSummary: redactedConfig(config),
      readOnly: READ_ONLY_MESSAGE,
      logger: log.child({ part: 'admin' }),
      statusExtra: () => sync.status(),
    });
    registerDataPlaneAdmin(a.router, () => sync.cache.store);
    registerClustering(a.router, null);
    registerClusterMembers(a.router, {
      cluster: () => cluster,
      testPartitions: config.cluster_test_partitions,
      adminIsLoopback: config.admin_listen.every((l) => isLoopback(l.host)),
    });
    // Kong 3's readiness probe: a data plane is ready once it holds a configuration (from a
    // control plane, or its on-disk cache), never while it would answer every request with 404.
    a.router.add('GET', '/status/ready', () =>
      sync.cache.loaded ? { status: 200, body: { message: 'ready' } } : { status: 503, body: { message: 'no configuration received from a control plane yet' } },
    );
    registerMetrics(a.router, () => (proxy ? proxy.metrics() : ''));
    admin = a;
    for (const l of config.admin_listen) await a.listen(l.host, l.port);
    stops.push(() => a.close());
  }

  const c = await startCluster({
    nodeId,
    nodeName: config.node_name,
    role: 'data_plane',
    version: VERSION,
    prefix: config.prefix,
    listen: config.cluster_listen,
    advertise: config.cluster_advertise || null,
    peers: config.cluster_control_plane,
    psk: identity.psk,
    settings: settingsFromConfig(config as unknown as Record<string, unknown>),
    logger: log.child({ part: 'cluster' }),
    config_version: sync.configVersion,
    config_hash: sync.cache.loaded ? sync.configHash : null,
  });
  cluster = c;
  stops.push(() => c.stop());
  logRefusedConnections(c.libp2p, log.child({ part: 'cluster' }));
  sync.attach(c);
  stops.push(() => sync.stop());
  void sync.fullSync('start');
  hlog.info({ control_planes: config.cluster_control_plane, cluster_cert: identity.fingerprint }, 'data plane started');
  return { admin, proxy, cluster: c, sync };
}
