// The cluster part: this node's membership over libp2p (src/cluster/), announcing the
// configuration it holds so that peers and data planes can tell when to repair.
import { VERSION } from '../../version.ts';
import { settingsFromConfig, startCluster, type Cluster, type StartClusterOptions } from '../../cluster/index.ts';
import type { NodeContext } from '../context.ts';

export type ClusterPartOptions = Pick<StartClusterOptions, 'role' | 'peers' | 'psk' | 'tls' | 'store' | 'config_version' | 'config_hash'>;

export async function startClusterPart({ config, log, nodeId, stops }: NodeContext, o: ClusterPartOptions): Promise<Cluster> {
  const cluster = await startCluster({
    nodeId,
    nodeName: config.node_name,
    role: o.role,
    version: VERSION,
    prefix: config.prefix,
    listen: config.cluster_listen,
    advertise: config.cluster_advertise || null,
    peers: o.peers,
    psk: o.psk,
    ...(o.tls ? { tls: o.tls } : {}),
    ...(o.store ? { store: o.store } : {}),
    settings: settingsFromConfig(config),
    logger: log.child({ part: 'cluster' }),
    config_version: o.config_version,
    config_hash: o.config_hash,
  });
  stops.push(() => cluster.stop());
  return cluster;
}
