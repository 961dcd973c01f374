// A data plane: no database, ever. Its configuration comes from a control plane over libp2p
// (src/sync/push/) and is kept on disk so it serves right after a restart even while every
// control plane is down. Order matters: proxy workers forked → cached configuration read →
// proxy serving → Admin API → cluster, so traffic is served before any control plane is
// reached (and before the Admin API's and the cluster's modules are even loaded).
import type { NodeProxy } from '../proxy/node-proxy.ts';
import type { Cluster } from '../cluster/index.ts';
import type { NodeContext } from './context.ts';
import type { StartedRole } from './role.ts';
import { startProxyPart } from './parts/proxy.ts';
import { CacheHandover } from './parts/dp-handover.ts';
import { startPushSyncPart } from './parts/push-sync.ts';

// What a data plane needs only once it serves: the Admin API (which brings pg and the entity
// schemas) and the cluster (libp2p). Through tsx these are seconds of module loading on a busy
// machine; the restart-from-cache promise is about the proxy, so they load after it listens
// (not while the workers boot: on two cores they would compete with the workers for CPU).
const afterServing = () =>
  Promise.all([
    import('./parts/admin.ts'),
    import('./parts/cluster.ts'),
    import('../hybrid/clustering-routes.ts'),
    import('../hybrid/dp-admin.ts'),
    import('../sync/push/dp-net.ts'),
    import('../hybrid/refusals.ts'),
    import('./parts/counter-share.ts'),
    import('./parts/plugin-endpoints.ts'),
  ]);

export async function startDataPlane(node: NodeContext): Promise<StartedRole> {
  const { config, log } = node;
  // 1. The proxy workers, forked before anything else is loaded or read (dp-handover.ts).
  const handover = new CacheHandover();
  const proxyStart =
    config.proxy_listen.length > 0
      ? startProxyPart(node, { snapshot: () => handover.snapshot(), workerSnapshot: () => handover.workerSnapshot(), logLevel: log.level }).then((p) => {
          handover.listeningMs = Math.round(process.uptime() * 1000);
          return p;
        })
      : null;
  proxyStart?.catch(() => {}); // awaited below; only keeps a failure from counting as unhandled meanwhile

  // 2. The on-disk cache, read while they boot, and the sync that keeps it current.
  let proxy: NodeProxy | null = null;
  const { sync, identity, cached, tls } = await startPushSyncPart(node, handover, proxyStart, () => proxy);

  // 3. Serving the cached configuration. The proxy runs in worker_processes workers, as on a
  // traditional node: decoding a large snapshot in the primary never holds up a request.
  if (proxyStart) {
    proxy = await proxyStart;
    handover.adopt(proxy, sync, cached);
  }

  // 4. Once serving: the Admin API (read-only) and the cluster, through which control planes are reached.
  const [{ startAdminPart }, { startClusterPart }, { registerClustering }, { READ_ONLY_MESSAGE, registerDataPlaneAdmin }, net, { logRefusedConnections }, { startCounterSharePart }, { startPluginMessagesPart }] = await afterServing();
  let cluster: Cluster | null = null;
  const admin =
    config.admin_listen.length > 0
      ? await startAdminPart(node, {
          role: 'data_plane',
          pool: null,
          readOnly: READ_ONLY_MESSAGE,
          statusExtra: () => sync.status(),
          routes: (router) => {
            registerDataPlaneAdmin(router, () => sync.cache.store);
            registerClustering(router, null);
          },
          cluster: () => cluster,
          notReady: () => sync.notReady(),
          proxyMetrics: () => (proxy ? proxy.metrics() : ''),
          store: () => sync.cache.store,
          proxy: () => proxy,
        })
      : null;
  const c = await startClusterPart(node, {
    role: 'data_plane',
    peers: config.cluster_control_plane,
    psk: identity.psk,
    tls,
    config_version: sync.configVersion(),
    config_hash: sync.cache.loaded ? sync.configHash() : null,
  });
  cluster = c;
  startCounterSharePart(node, c, proxy);
  await startPluginMessagesPart(node, c, { store: () => sync.cache.store, proxy: () => proxy });
  logRefusedConnections(c.libp2p, log.child({ part: 'cluster' }));
  sync.attach(c, net);
  node.stops.push(() => sync.stop());
  void sync.start();
  log.child({ part: 'hybrid' }).info({ control_planes: config.cluster_control_plane, cluster_cert: identity.fingerprint }, 'data plane started');
  return { admin, proxy, cluster: c, sync, events: null };
}
