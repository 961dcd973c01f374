// The configuration part of a data plane: its on-disk cache (read at once, served while every
// control plane may be down) and the push strategy's sync (src/sync/push/), which keeps it
// current from the control planes once the cluster is joined.
import path from 'node:path';
import { StartError } from '../../errors.ts';
import { VERSION } from '../../version.ts';
import type { NodeProxy } from '../../proxy/node-proxy.ts';
import type { DataPlaneSync } from '../../sync/push/data-plane-sync.ts';
import type { ClusterIdentity } from '../../hybrid/cert.ts';
import type { ClusterTls } from '../../cluster/index.ts';
import type { NodeContext } from '../context.ts';
import type { CacheHandover } from './dp-handover.ts';

export interface PushSyncPart {
  sync: DataPlaneSync;
  /** The cluster certificate's key: the private network shared with the control planes. */
  identity: ClusterIdentity;
  /** A verified configuration was read from the on-disk cache. */
  cached: boolean;
  /** cluster_mtls = pki: the mutual-TLS material the cluster connections use. */
  tls: ClusterTls | undefined;
}

export async function startPushSyncPart(
  { config, log, nodeId, stops }: NodeContext,
  handover: CacheHandover,
  proxyStart: Promise<NodeProxy> | null,
  proxy: () => NodeProxy | null,
): Promise<PushSyncPart> {
  // Loaded while the proxy workers boot (see dp-handover.ts), not before they are forked.
  const [{ loadClusterIdentity }, { dataPlaneHello, DataPlaneSync: Sync }, { DpCacheStore }, { CacheSeal }] = await Promise.all([
    import('../../hybrid/cert.ts'),
    import('../../sync/push/data-plane-sync.ts'),
    import('../../sync/push/level-store.ts'),
    import('../../sync/push/cache-seal.ts'),
  ]);
  let identity: ClusterIdentity;
  let tls: ClusterTls | undefined;
  try {
    identity = loadClusterIdentity(config.cluster_cert, config.cluster_cert_key);
    // Checked before the cache is served: a node that cannot join its cluster says so at once.
    tls = config.cluster_mtls === 'pki' ? await (await import('../../hybrid/pki.ts')).clusterTlsOf(config, log.child({ part: 'cluster' })) : undefined;
  } catch (err) {
    await proxyStart?.catch(() => {}); // started: the node's stop list stops it
    throw err instanceof StartError ? err : new StartError((err as Error).message);
  }
  const hlog = log.child({ part: 'hybrid' });
  // Encrypted at rest: the configuration holds certificates' keys and credentials.
  const store = new DpCacheStore(path.join(config.prefix, 'dp-cache'), hlog, new CacheSeal(identity.cacheKey));
  stops.push(() => store.close());
  store.onVerified = (snapshot, journal, bytes) => handover.verifiedSnapshot(snapshot, journal, bytes, proxyStart);
  const sync = new Sync({
    log: hlog,
    store,
    hello: dataPlaneHello({ nodeId, name: config.node_name, version: VERSION }),
    controlPlanes: config.cluster_control_plane,
    // Posted to the workers at once (serialized during the call); resolves once they serve it.
    onSnapshot: (snap) => {
      const p = proxy();
      if (!p) return;
      p.loadSnapshot(snap);
      return p.settled();
    },
    onEvents: (events) => proxy()?.applyChanges(events),
  });
  handover.sync = sync;
  const cached = await sync.loadFromDisk();
  return { sync, identity, cached, tls };
}
