// The Admin API part, started last: when it answers, the node is ready. Every role gets the
// same server and the same cluster-wide routes (/cluster/members, /status/ready, /metrics);
// what differs is given by the role: the database (or none), its own routes, and readiness.
import os from 'node:os';
import { isLoopback, redactedConfig } from '../../config/index.ts';
import { VERSION } from '../../version.ts';
import { createAdminServer, type AdminDeps, type AdminServer } from '../../admin/index.ts';
import { registerClusterMembers } from '../../admin/cluster-members.ts';
import { registerMetrics } from '../../admin/metrics.ts';
import type { Router } from '../../admin/router.ts';
import type { EntityStore } from '../../cache/entity-store.ts';
import type { Cluster } from '../../cluster/index.ts';
import type { NodeProxy } from '../../proxy/node-proxy.ts';
import type { NodeContext } from '../context.ts';
import { registerPluginEndpoints } from './plugin-endpoints.ts';
import { StartError } from '../../errors.ts';
import { ADMIN_KEYS, loadProxyTls, type TlsMaterial } from '../../proxy/tls-certs.ts';
import { tlsContextSettings } from '../../proxy/tls-settings.ts';

export interface AdminPartOptions extends Pick<AdminDeps, 'pool' | 'readOnly' | 'onChanges' | 'statusExtra'> {
  role: string;
  /** The role's own routes, added before the shared ones (and before the server listens). */
  routes(router: Router): Promise<void> | void;
  cluster: () => Cluster | null;
  /** Why the node is not ready (GET /status/ready answers 503 with it), or null. */
  notReady(): string | null;
  proxyMetrics(): Promise<string> | string;
  /** The node's cache of the configuration and its proxy, for the plugins' own endpoints (Kong's api.lua beyond entities). */
  store?: () => EntityStore | null;
  proxy?: () => NodeProxy | null;
}

/** admin_ssl_cert / admin_ssl_cert_key (or the generated default), with the ssl_* settings. */
function adminTls(config: NodeContext['config']): TlsMaterial {
  try {
    return loadProxyTls({ cert: config.admin_ssl_cert, key: config.admin_ssl_cert_key, prefix: config.prefix, settings: tlsContextSettings(config) }, ADMIN_KEYS);
  } catch (err) {
    throw new StartError((err as Error).message);
  }
}

export async function startAdminPart({ config, log, nodeId, stops }: NodeContext, o: AdminPartOptions): Promise<AdminServer> {
  const admin = createAdminServer({
    pool: o.pool,
    nodeInfo: { id: nodeId, name: config.node_name, hostname: os.hostname(), version: VERSION, role: o.role },
    configSummary: redactedConfig(config),
    ...(o.readOnly ? { readOnly: o.readOnly } : {}),
    ...(o.onChanges ? { onChanges: o.onChanges } : {}),
    logger: log.child({ part: 'admin' }),
    statusExtra: o.statusExtra,
  });
  await o.routes(admin.router);
  registerClusterMembers(admin.router, {
    cluster: o.cluster,
    testPartitions: config.cluster_test_partitions,
    adminIsLoopback: config.admin_listen.every((l) => isLoopback(l.host)),
  });
  // Kong 3's readiness probe.
  admin.router.add('GET', '/status/ready', () => {
    const reason = o.notReady();
    return reason === null ? { status: 200, body: { message: 'ready' } } : { status: 503, body: { message: reason } };
  });
  registerMetrics(admin.router, o.proxyMetrics);
  await registerPluginEndpoints(admin.router, {
    store: o.store ?? (() => null),
    proxy: o.proxy ?? (() => null),
    cluster: o.cluster,
    log: log.child({ part: 'admin' }),
  });
  const tls = config.admin_listen.some((l) => l.flags.includes('ssl')) ? adminTls(config) : undefined;
  for (const l of config.admin_listen) await admin.listen(l.host, l.port, l.flags.includes('ssl') ? tls : undefined);
  stops.push(() => admin.close());
  return admin;
}
