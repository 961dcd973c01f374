// The composition root: the only module that knows every part. It builds them in the order
// data flows (db → events/cache → proxy; cluster beside; admin last, once the node can
// answer) and stops them in reverse.
import fs from 'node:fs';
import os from 'node:os';
import type { Config } from './config/index.ts';
import { isLoopback, redactedConfig } from './config/index.ts';
import { createLogger, PINO_LEVEL, type Logger } from './log.ts';
import { StartError } from './errors.ts';
import { VERSION } from './version.ts';
import type { AdminServer } from './admin/index.ts';
import type { Cluster } from './cluster/index.ts';
import type { EventSync } from './sync/gossip/event-sync.ts';
import type { NodeProxy } from './proxy/node-proxy.ts';
import { removePid, runningPid, writePid } from './pidfile.ts';

// Each role loads only its own parts, and loads them when it reaches them: a data plane must
// serve its cached configuration within a second or two of start, and through tsx every module
// costs load time (libp2p alone is most of a second), so Postgres, the Admin API and the
// cluster stack are imported where they are started, not at the top of this file.
const dbModeParts = () =>
  Promise.all([
    import('./db/index.ts'),
    import('./db/cluster-nodes.ts'),
    import('./admin/index.ts'),
    import('./admin/cluster-members.ts'),
    import('./admin/metrics.ts'),
    import('./cluster/index.ts'),
    import('./sync/gossip/event-sync.ts'),
    import('./proxy/node-proxy.ts'),
    import('./hybrid/index.ts'),
  ]);

export interface RunningNode {
  id: string;
  config: Config;
  admin: AdminServer | null;
  proxy: Pick<NodeProxy, 'applyChanges' | 'loadSnapshot'> | null;
  cluster: Cluster | null;
  events: EventSync | null;
  /**
   * `gossamer reload` (Kong's advice for "configuration inconsistency": flush cached
   * configuration): the whole configuration is read again from its source (Postgres, or a
   * control plane for a data plane) and handed to the proxy workers, which rebuild from it.
   */
  reloadEntities(): Promise<{ ok: boolean; config_version: number; config_hash: string; from: string }>;
  stop(): Promise<void>;
}

export { StartError };

export async function startNode(config: Config, log: Logger): Promise<RunningNode> {
  const prefix = config.prefix;
  try {
    fs.mkdirSync(prefix, { recursive: true });
  } catch (err) {
    throw new StartError(`cannot create prefix ${prefix}: ${(err as NodeJS.ErrnoException).code}`);
  }
  const other = runningPid(prefix);
  if (other !== null && other !== process.pid) throw new StartError(`a node is already running in ${prefix} (pid ${other}); stop it with 'gossamer stop -p ${prefix}'`);

  const { loadOrCreateNodeId } = await import('./cluster/identity.ts');
  const nodeId = loadOrCreateNodeId(prefix);
  const stops: (() => Promise<void> | void)[] = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) {
      try {
        await s();
      } catch (err) {
        log.warn({ err }, 'error while stopping a part of the node');
      }
    }
  };

  // The pid file goes first: once any port answers, `gossamer stop` must find the node.
  writePid(prefix);
  stops.push(() => removePid(prefix));

  try {
    if (config.database !== 'postgres') {
      // Data plane: no database; configuration from a control plane (src/hybrid/). Imported
      // directly, not through hybrid/index.ts, which also holds the control plane's parts.
      const { startDataPlane } = await import('./hybrid/data-plane.ts');
      const dp = await startDataPlane({ config, log, nodeId, stops });
      const reloadEntities = async () => {
        // A control plane answers "current" when our hash is already its own; either way the
        // workers get the configuration again and rebuild their routers and balancers.
        await dp.sync.fullSync('reload');
        if (dp.sync.cache.loaded) dp.proxy?.loadSnapshot(dp.sync.cache.snapshot());
        return { ok: dp.sync.controlPlaneConnected, config_version: dp.sync.configVersion, config_hash: dp.sync.configHash, from: dp.sync.lastControlPlane ?? 'a control plane' };
      };
      return { id: nodeId, config, admin: dp.admin, proxy: dp.proxy, cluster: dp.cluster, events: null, reloadEntities, stop: stopAll };
    }
    const [
      { assertBootstrapped, clusterSecret, createPool, describePgError, isConnectionError },
      { createClusterNodesStore },
      { createAdminServer },
      { registerClusterMembers },
      { registerMetrics },
      { settingsFromConfig, startCluster },
      { createEventSync },
      { startNodeProxy },
      { attachControlPlane, clusterPsk, registerClustering, withoutDataPlanes },
    ] = await dbModeParts();

    // 1. Database: the source of truth. Refuse to start on an unreachable or empty one.
    const pool = createPool(config);
    stops.push(() => pool.end());
    let secret: string;
    try {
      await assertBootstrapped(pool);
      secret = await clusterSecret(pool);
    } catch (err) {
      if (isConnectionError(err)) throw new StartError(describePgError(err, { host: config.pg_host, port: config.pg_port }));
      throw new StartError((err as Error).message);
    }
    const cp = config.cluster_role === 'control_plane';

    // 2. Cache of record, warm from Postgres, kept current by gossip + repair.
    const proxyOn = config.cluster_role !== 'control_plane' && config.proxy_listen.length > 0;
    let proxy: NodeProxy | null = null;
    const events = createEventSync({
      pool,
      log: log.child({ part: 'events' }),
      gossip: config.cluster_gossip_events,
      dbUpdateFrequency: config.db_update_frequency,
      dbCacheTtl: config.db_cache_ttl,
      dbUpdatePropagation: config.db_update_propagation,
      onEvents: (evs) => proxy?.applyChanges(evs),
      onSnapshot: (snap) => proxy?.loadSnapshot(snap),
    });
    await events.start();
    stops.push(() => events.stop());

    // 3. Proxy, built from the cache; never awaits Postgres on the request path.
    if (proxyOn) {
      const p = await startNodeProxy({
        workerProcesses: config.worker_processes,
        listen: config.proxy_listen,
        snapshot: () => events.store.snapshot(),
        logger: log.child({ part: 'proxy' }),
        nodeName: config.node_name,
        logLevel: PINO_LEVEL[config.log_level],
        ssl: { cert: config.ssl_cert, key: config.ssl_cert_key, prefix: config.prefix },
        bodies: { maxBodySize: config.nginx_http_client_max_body_size, bodyBufferSize: config.nginx_http_client_body_buffer_size },
      }).catch((err: Error) => {
        throw new StartError(err.message);
      });
      proxy = p;
      stops.push(() => p.stop());
      // Changes applied while the workers were forking reached no proxy: hand over the cache as it is now.
      p.loadSnapshot(events.store.snapshot());
    }

    // 4. Cluster membership and gossip.
    const cluster = await startCluster({
      nodeId,
      nodeName: config.node_name,
      role: config.cluster_role,
      version: VERSION,
      prefix,
      listen: config.cluster_listen,
      advertise: config.cluster_advertise || null,
      peers: config.cluster_peers,
      psk: clusterPsk(config, secret, log),
      store: createClusterNodesStore(pool),
      settings: settingsFromConfig(config as unknown as Record<string, unknown>),
      logger: log.child({ part: 'cluster' }),
      config_version: events.configVersion(),
      config_hash: events.configHash(),
    });
    stops.push(() => cluster.stop());
    events.attachCluster(cp ? withoutDataPlanes(cluster) : cluster);

    // 5. Admin API last: when it answers, the node is ready.
    const admin = createAdminServer({
      pool,
      nodeInfo: { id: nodeId, name: config.node_name, hostname: os.hostname(), version: VERSION, role: config.cluster_role },
      configSummary: redactedConfig(config),
      // Read-your-write: the Admin API answers once this node's own proxy workers serve the change.
      onChanges: async (evs) => {
        events.localChanges(evs);
        await proxy?.settled();
      },
      logger: log.child({ part: 'admin' }),
      statusExtra: () => {
        // The events layer already knows whether Postgres answers (it polls, and retries
        // during an outage); asking it keeps /status instant when the load balancer polls it.
        const s = events.status();
        return { database: { reachable: events.dbReachable() }, configuration_hash: s.config_hash, config_version: s.config_version };
      },
    });
    if (cp) stops.push((await attachControlPlane({ cluster, events, pool, router: admin.router, log: log.child({ part: 'hybrid' }) })).stop);
    else registerClustering(admin.router, null);
    registerClusterMembers(admin.router, {
      cluster: () => cluster,
      testPartitions: config.cluster_test_partitions,
      adminIsLoopback: config.admin_listen.every((l) => isLoopback(l.host)),
    });
    // Kong 3's readiness probe: the cache is warm once the node started; without Postgres a
    // traditional node still proxies but cannot take writes, so it reports not ready.
    admin.router.add('GET', '/status/ready', () =>
      events.dbReachable() ? { status: 200, body: { message: 'ready' } } : { status: 503, body: { message: 'database unreachable' } },
    );
    registerMetrics(admin.router, () => (proxy ? proxy.metrics() : ''));
    for (const l of config.admin_listen) await admin.listen(l.host, l.port);
    stops.push(() => admin.close());

    log.info({ node_id: nodeId, prefix, proxy: config.proxy_listen, admin: config.admin_listen, cluster: cluster.peerId, version: VERSION }, 'gossamer node started');
    const reloadEntities = async () => {
      // The reload hands the new snapshot to the proxy workers (onSnapshot above).
      await events.reload('manual');
      return { ok: events.dbReachable(), config_version: events.configVersion(), config_hash: events.configHash(), from: 'the database' };
    };
    return { id: nodeId, config, admin, proxy, cluster, events, reloadEntities, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** `gossamer start`: run until SIGTERM/SIGINT, reload on SIGHUP. */
export async function runNode(config: Config, confFile?: string): Promise<void> {
  const log = createLogger(config.node_name, PINO_LEVEL[config.log_level]);
  let node: RunningNode;
  try {
    node = await startNode(config, log);
  } catch (err) {
    if (err instanceof StartError) {
      log.fatal(err.message);
      throw err;
    }
    log.fatal({ err }, 'failed to start');
    throw new StartError(`failed to start: ${(err as Error).message}`);
  }
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: draining connections and leaving the cluster');
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    await node.stop();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGHUP', () => {
    // Of the file, only what can change safely at run time is applied: the log level. Listen
    // addresses, database and cluster settings need a restart (Kong's reload re-spawns
    // workers; ours keeps the process so cluster identity and connections survive). The
    // entities are read again from their source, which is what Kong users reload for.
    void import('./config/index.ts').then(async ({ loadConfig }) => {
      const r = loadConfig({ file: confFile, prefix: config.prefix });
      if (r.errors.length) log.error({ errors: r.errors }, 'reload: configuration file has errors; keeping the running settings');
      else {
        log.level = PINO_LEVEL[r.config.log_level];
        log.info({ file: confFile ?? null }, 'reload: configuration file re-read');
      }
      const e = await node.reloadEntities();
      if (e.ok) log.info(e, `reload: configuration reloaded from ${e.from} (config_version ${e.config_version}, config_hash ${e.config_hash})`);
      else log.warn(e, `reload: could not read the configuration from ${e.from}; still serving the cached one (config_version ${e.config_version})`);
    }).catch((err: Error) => log.error({ err }, 'reload failed'));
  });
  await new Promise(() => {});
}

