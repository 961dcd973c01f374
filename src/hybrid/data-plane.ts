// A data plane: no database, ever. Its configuration comes from a control plane over libp2p
// (dp-sync.ts) and is kept on disk (level-store.ts) so it serves right after a restart even
// while every control plane is down. Order matters: cached configuration → proxy → Admin
// API → cluster, so traffic is served before any control plane is reached (and before the
// Admin API's and the cluster's modules are even loaded).
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config/index.ts';
import { isLoopback, redactedConfig } from '../config/index.ts';
import type { Logger } from '../log.ts';
import { VERSION } from '../version.ts';
import type { AdminServer } from '../admin/index.ts';
import type { Cluster } from '../cluster/index.ts';
import { startNodeProxy, type NodeProxy } from '../proxy/node-proxy.ts';
import { StartError } from '../errors.ts';
import type { ConfigSnapshot } from '../entities/types.ts';
import { ENTITY_NAMES } from '../cache/entity-store.ts';
import type { DataPlaneSync } from '../sync/push/data-plane-sync.ts';
import type { Journal } from '../sync/push/level-store.ts';
import type { PackedSnapshot } from '../proxy/worker-messages.ts';

// What a data plane needs only once it serves: the Admin API (which brings pg and the entity
// schemas) and the cluster (libp2p). Through tsx these are seconds of module loading on a busy
// machine; the restart-from-cache promise is about the proxy, so they load after it listens
// (not while the workers boot: on two cores they would compete with the workers for CPU).
const afterServing = () =>
  Promise.all([
    import('../admin/index.ts'),
    import('../admin/cluster-members.ts'),
    import('../admin/metrics.ts'),
    import('./clustering-routes.ts'),
    import('./dp-admin.ts'),
    import('../cluster/index.ts'),
    import('../sync/push/dp-net.ts'),
    import('./refusals.ts'),
  ]);

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


function emptySnapshot(): ConfigSnapshot {
  const snap = { config_version: 0 } as Record<string, unknown>;
  for (const name of ENTITY_NAMES) snap[name] = [];
  return snap as unknown as ConfigSnapshot;
}

export async function startDataPlane({ config, log, nodeId, stops }: DataPlaneDeps): Promise<DataPlane> {
  // The proxy workers are forked before anything else is loaded or read: a worker takes far
  // longer to boot (tsx, the proxy's modules) than this process needs to load the cache code
  // and read the cache, and each side has a core of its own. A worker that says hello before
  // the cache is read starts empty and is handed the cache once it is.
  let sync: DataPlaneSync | null = null;
  let proxy: NodeProxy | null = null;
  // What the workers were handed before the cache finished loading: nothing yet, an empty
  // configuration (a worker said hello first), or the cached snapshot as soon as it passed
  // its checksum (`verified`), before its config_hash is checked (level-store.ts onVerified).
  // The workers get it packed (the stored bytes): decoding costs them less than the
  // primary's structured clone of every row would cost both.
  const early: {
    handed: 'none' | 'empty' | 'verified';
    verified: { snapshot: ConfigSnapshot; journal: Journal | null; packed: PackedSnapshot } | null;
  } = { handed: 'none', verified: null };
  let listeningMs: number | null = null;
  const proxyStart =
    config.proxy_listen.length > 0
      ? startNodeProxy({
          workerProcesses: config.worker_processes,
          listen: config.proxy_listen,
          snapshot: () => (sync?.cache.loaded ? sync.cache.snapshot() : (early.verified?.snapshot ?? emptySnapshot())),
          workerSnapshot: () => {
            if (sync?.cache.loaded) return sync.cache.snapshot();
            if (early.verified) {
              early.handed = 'verified';
              return early.verified.packed;
            }
            early.handed = 'empty';
            return emptySnapshot();
          },
          logger: log.child({ part: 'proxy' }),
          nodeName: config.node_name,
          logLevel: log.level,
          ssl: { cert: config.ssl_cert, key: config.ssl_cert_key, prefix: config.prefix },
          bodies: { maxBodySize: config.nginx_http_client_max_body_size, bodyBufferSize: config.nginx_http_client_body_buffer_size },
        }).then(
          (p) => {
            stops.push(() => p.stop());
            listeningMs = Math.round(process.uptime() * 1000);
            return p;
          },
          (err: Error) => {
            throw new StartError(err.message);
          },
        )
      : null;
  proxyStart?.catch(() => {}); // awaited below; only keeps a failure from counting as unhandled meanwhile

  const [{ loadClusterIdentity }, { dataPlaneHello, DataPlaneSync: Sync }, { DpCacheStore }] = await Promise.all([
    import('./cert.ts'),
    import('../sync/push/data-plane-sync.ts'),
    import('../sync/push/level-store.ts'),
  ]);
  let identity: ReturnType<typeof loadClusterIdentity>;
  try {
    identity = loadClusterIdentity(config.cluster_cert, config.cluster_cert_key);
  } catch (err) {
    await proxyStart?.catch(() => {}); // started: the node's stop list stops it
    throw new StartError((err as Error).message);
  }
  const hlog = log.child({ part: 'hybrid' });
  const store = new DpCacheStore(path.join(config.prefix, 'dp-cache'), hlog);
  stops.push(() => store.close());
  store.onVerified = async (snapshot, journal, bytes) => {
    // A view into a larger buffer would send all of that buffer.
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
    const packed = { packed: own };
    early.verified = { snapshot, journal, packed };
    // Workers saying hello from now on get it with their init. Those that said hello before
    // listen with nothing: it is posted once they listen. Either way the config_hash check
    // (synchronous, after this returns) waits until the workers have it.
    const p = await proxyStart?.catch(() => null);
    if (p && early.handed === 'empty') {
      early.handed = 'verified';
      p.loadSnapshot(snapshot, packed);
    }
  };
  const s = new Sync({
    log: hlog,
    store,
    hello: dataPlaneHello({ nodeId, name: config.node_name, version: VERSION }),
    controlPlanes: config.cluster_control_plane,
    // Posted to the workers at once (serialized during the call); resolves once they serve it.
    onSnapshot: (snap) => {
      if (!proxy) return;
      proxy.loadSnapshot(snap);
      return proxy.settled();
    },
    onEvents: (events) => proxy?.applyChanges(events),
  });
  sync = s;
  const cached = await s.loadFromDisk();

  // The proxy runs in worker_processes workers, as on a traditional node: decoding a large
  // snapshot in the primary never holds up a request.
  if (proxyStart) {
    const p = await proxyStart;
    proxy = p;
    if (early.handed === 'verified') {
      // The workers serve the stored snapshot: add the journal if it checked out, or withdraw
      // the snapshot if its config_hash did not (then the cache is ignored, as before).
      const j = early.verified?.journal;
      if (!cached) p.loadSnapshot(emptySnapshot());
      else if (j && j.events.length > 0 && s.configHash === j.config_hash) p.applyChanges(j.events);
    } else if (cached && early.handed === 'empty') p.loadSnapshot(s.cache.snapshot());
    early.verified = null;
    // When the workers listened, not now: they serve the cached snapshot before the config_hash check above ends.
    s.servingSinceStartMs = listeningMs ?? Math.round(process.uptime() * 1000);
  }

  const [
    { createAdminServer },
    { registerClusterMembers },
    { registerMetrics },
    { registerClustering },
    { READ_ONLY_MESSAGE, registerDataPlaneAdmin },
    { settingsFromConfig, startCluster },
    net,
    { logRefusedConnections },
  ] = await afterServing();
  let cluster: Cluster | null = null;
  let admin: AdminServer | null = null;
  if (config.admin_listen.length > 0) {
    const a = createAdminServer({
      pool: null,
      nodeInfo: { id: nodeId, name: config.node_name, hostname: os.hostname(), version: VERSION, role: 'data_plane' },
      configSummary: redactedConfig(config),
      readOnly: READ_ONLY_MESSAGE,
      logger: log.child({ part: 'admin' }),
      statusExtra: () => s.status(),
    });
    registerDataPlaneAdmin(a.router, () => s.cache.store);
    registerClustering(a.router, null);
    registerClusterMembers(a.router, {
      cluster: () => cluster,
      testPartitions: config.cluster_test_partitions,
      adminIsLoopback: config.admin_listen.every((l) => isLoopback(l.host)),
    });
    // Kong 3's readiness probe: a data plane is ready once it holds a configuration (from a
    // control plane, or its on-disk cache), never while it would answer every request with 404.
    a.router.add('GET', '/status/ready', () =>
      s.cache.loaded ? { status: 200, body: { message: 'ready' } } : { status: 503, body: { message: 'no configuration received from a control plane yet' } },
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
    config_version: s.configVersion,
    config_hash: s.cache.loaded ? s.configHash : null,
  });
  cluster = c;
  stops.push(() => c.stop());
  logRefusedConnections(c.libp2p, log.child({ part: 'cluster' }));
  s.attach(c, net);
  stops.push(() => s.stop());
  void s.fullSync('start');
  hlog.info({ control_planes: config.cluster_control_plane, cluster_cert: identity.fingerprint }, 'data plane started');
  return { admin, proxy, cluster: c, sync: s };
}
