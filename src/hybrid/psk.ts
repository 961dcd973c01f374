// Which private-network key a DB-mode node uses. A control plane configured with the shared
// cluster certificate derives it from cluster_cert_key, like its data planes, so both roles
// share one network (every control plane of the cluster must then hold the same pair).
// Without it (traditional nodes, or a control plane without a pair) it is the database's
// cluster secret, and data planes cannot connect.
import type { Config } from '../config/index.ts';
import { pskFromSecret } from '../cluster/identity.ts';
import type { Logger } from '../log.ts';
import { StartError } from '../errors.ts';
import { loadClusterIdentity } from './cert.ts';

export function clusterPsk(config: Config, dbSecret: string, log: Logger): Uint8Array {
  // With cluster_mtls = pki, connections are mutual TLS (pki.ts) and no private-network key is used.
  if (config.cluster_role !== 'control_plane' || config.cluster_mtls === 'pki') return pskFromSecret(dbSecret);
  if (!config.cluster_cert_key || !config.cluster_cert) {
    log.warn("cluster_role = 'control_plane' without cluster_cert and cluster_cert_key: data planes cannot connect (generate a pair with: gossamer cluster gen-cert)");
    return pskFromSecret(dbSecret);
  }
  try {
    const id = loadClusterIdentity(config.cluster_cert, config.cluster_cert_key);
    log.info({ cluster_cert: id.fingerprint }, 'control plane: cluster key derived from cluster_cert_key');
    return id.psk;
  } catch (err) {
    throw new StartError((err as Error).message);
  }
}
