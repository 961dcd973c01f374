// A DB-less node (database = off, cluster_role = traditional; Kong's DB-less mode): a data plane
// whose configuration comes from a declarative file (declarative_config) or POST /config instead
// of a control plane. No Postgres, ever. Order: the file read and checked (a file with any problem
// stops the start before anything listens) → proxy workers → cluster, where it is a member
// announcing its config_hash (and, with the cluster certificate, converges with the other
// DB-less members: src/sync/dbless/fleet.ts) → Admin API (entity reads, /config, Kong's 405 for
// entity writes), last: once it answers, the node is ready. docs/dbless.md has the details.
import fs from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { VERSION } from '../version.ts';
import { StartError } from '../errors.ts';
import type { Config } from '../config/index.ts';
import type { ConfigSnapshot } from '../entities/types.ts';
import type { NodeProxy } from '../proxy/node-proxy.ts';
import { PINO_LEVEL } from '../log.ts';
import { pskFromSecret } from '../cluster/index.ts';
import { loadClusterIdentity } from '../hybrid/cert.ts';
import { registerDataPlaneAdmin } from '../hybrid/dp-admin.ts';
import { registerClustering } from '../hybrid/clustering-routes.ts';
import { DblessConfig, type ConfigOrigin } from '../sync/dbless/dbless-config.ts';
import { DBLESS_ROLE, DblessFleet } from '../sync/dbless/fleet.ts';
import { snapshotFromDocument, snapshotFromText } from '../declarative/build.ts';
import { DeclarativeError, declarativeErrorBody } from '../declarative/problems.ts';
import { exportDeclarative } from '../declarative/export.ts';
import { KongError } from '../entities/errors.ts';
import { registerConfigRoutes, type ConfigRoutesDeps } from '../admin/config-routes.ts';
import { dblessWriteRefusal } from '../admin/dbless-writes.ts';
import type { NodeContext } from './context.ts';
import type { StartedRole } from './role.ts';
import { startProxyPart } from './parts/proxy.ts';
import { startClusterPart } from './parts/cluster.ts';
import { startAdminPart } from './parts/admin.ts';
import { startCounterSharePart } from './parts/counter-share.ts';
import { startPluginMessagesPart } from './parts/plugin-endpoints.ts';

/** POST /config bodies may be large (10,000 routes is a few MB of YAML). */
const CONFIG_BODY_LIMIT = 256 * 1024 * 1024;

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/**
 * declarative_config (or _string) read and checked; null when neither is set. Throws StartError
 * with every problem. Its version (which configuration is newest among DB-less members,
 * src/sync/dbless/fleet.ts) is the file's modification time; a declarative_config_string's is 1,
 * older than any file or POST /config.
 */
export function readDeclarativeSource(config: Pick<Config, 'declarative_config' | 'declarative_config_string'>): { snapshot: ConfigSnapshot; origin: ConfigOrigin; version: number } | null {
  const file = config.declarative_config;
  let text: string;
  let source: string;
  let version = 1;
  if (file) {
    try {
      text = fs.readFileSync(file, 'utf8');
      version = Math.floor(fs.statSync(file).mtimeMs);
    } catch (err) {
      throw new StartError(`declarative_config ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    source = file;
  } else if (config.declarative_config_string) {
    text = config.declarative_config_string;
    source = 'declarative_config_string';
  } else return null;
  try {
    // Entities the file gives no timestamps get the file's: nodes loading one file agree on its config_hash.
    return { snapshot: snapshotFromText(text, 0, file ? Math.floor(version / 1000) : undefined), origin: { textHash: md5(text), source }, version };
  } catch (err) {
    if (!(err instanceof DeclarativeError)) throw err;
    throw new StartError(`${source} is not a valid declarative configuration (nothing was started):\n${err.problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

export async function startDbless(node: NodeContext): Promise<StartedRole> {
  const { config, log } = node;
  const fromFile = readDeclarativeSource(config);
  const empty = snapshotFromText('_format_version: "3.0"');
  const holder = new DblessConfig({ prefix: config.prefix, log: log.child({ part: 'dbless' }), reload: async () => readDeclarativeSource(config) }, empty);
  node.stops.push(() => holder.stop());
  // Kong: a declarative_config file wins over what was last applied; without one, the last applied is served.
  const last = fromFile ? null : await holder.readLast();
  if (fromFile) holder.adopt(fromFile.snapshot, fromFile.origin, fromFile.version);
  else if (last) holder.adopt(last.snapshot, last.origin, last.version);

  let proxy: NodeProxy | null = null;
  if (config.proxy_listen.length > 0) {
    proxy = await startProxyPart(node, { snapshot: () => holder.proxySnapshot(), logLevel: PINO_LEVEL[config.log_level] });
    holder.proxy = proxy;
  }
  const psk = dblessPsk(config, log);
  const cluster = await startClusterPart(node, {
    role: DBLESS_ROLE,
    peers: psk.shared ? config.cluster_peers : [],
    psk: psk.key,
    config_version: holder.configVersion(),
    config_hash: holder.configHash(),
  });
  holder.onReplaced = (r) => cluster.setLocalState(r);
  startCounterSharePart(node, cluster, proxy);
  await startPluginMessagesPart(node, cluster, { store: () => holder.store, proxy: () => proxy });
  if (psk.shared) {
    // With the cluster certificate: the DB-less members converge on the newest configuration.
    const fleet = new DblessFleet({ cluster, holder, psk: psk.key, log: log.child({ part: 'dbless' }) });
    await fleet.start();
    node.stops.push(() => fleet.stop());
  }
  const admin = await startAdminPart(node, {
    role: 'traditional',
    pool: null,
    // Kong's /status in DB-less mode: the configuration_hash, and no `database` entry.
    statusExtra: () => ({ database: undefined, ...holder.status() }),
    routes: (router) => {
      registerConfigRoutes(router, configRoutes(holder, log));
      registerDataPlaneAdmin(router, () => holder.store, dblessWriteRefusal(() => holder.store));
      registerClustering(router, null);
    },
    cluster: () => cluster,
    notReady: () => holder.notReady(),
    proxyMetrics: () => (proxy ? proxy.metrics() : ''),
    store: () => holder.store,
    proxy: () => proxy,
  });
  log.info({ node_id: node.nodeId, prefix: config.prefix, proxy: config.proxy_listen, admin: config.admin_listen, declarative_config: config.declarative_config || null, config_hash: holder.configHash(), version: VERSION }, 'gossamer node started (DB-less)');
  return { admin, proxy, cluster, sync: holder, events: null };
}

/** POST /config and GET /config over the running configuration: checked as a file is, then swapped in. */
function configRoutes(holder: DblessConfig, log: NodeContext['log']): ConfigRoutesDeps {
  return {
    bodyLimit: CONFIG_BODY_LIMIT,
    textHash: () => holder.textHash(),
    exportYaml: async () => exportDeclarative(holder.snapshot(), { full: true }),
    apply: async (doc, textHash, flatten, render) => {
      let snapshot: ConfigSnapshot;
      const t0 = performance.now();
      try {
        snapshot = typeof doc === 'string' ? snapshotFromText(doc) : snapshotFromDocument(doc);
      } catch (err) {
        if (err instanceof DeclarativeError) throw new KongError(400, declarativeErrorBody(err.details, { flatten }));
        throw err;
      }
      log.debug({ check_ms: Math.round(performance.now() - t0) }, 'POST /config: configuration checked');
      let rendered: string | undefined;
      const whileWorkersLoad = () => {
        try {
          rendered = render(snapshot);
        } catch {
          // rendered again once applied, where its error is the request's
        }
      };
      const r = await holder.replace(snapshot, { textHash, source: 'POST /config' }, undefined, whileWorkersLoad);
      return { snapshot: holder.snapshot(), rendered: r.applied ? rendered : undefined };
    },
  };
}

/** The cluster certificate's key, shared with the other DB-less nodes; without a pair, a key of its own: it serves alone. */
function dblessPsk(config: Config, log: NodeContext['log']): { key: Uint8Array; shared: boolean } {
  if (!config.cluster_cert || !config.cluster_cert_key) {
    log.info('DB-less node without cluster_cert / cluster_cert_key: it serves alone (its /cluster/members lists only itself)');
    return { key: pskFromSecret(randomBytes(32).toString('hex')), shared: false };
  }
  try {
    return { key: loadClusterIdentity(config.cluster_cert, config.cluster_cert_key).psk, shared: true };
  } catch (err) {
    throw new StartError((err as Error).message);
  }
}
