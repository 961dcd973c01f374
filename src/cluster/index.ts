// The cluster part's public face: membership over libp2p (startCluster), identity helpers,
// the member shape of /cluster/members and the settings mapping from configuration keys.
export { startCluster, Cluster, type StartClusterOptions, type GossipHandler } from './cluster.ts';
export { MembershipError, type MembershipEvents } from './membership.ts';
export { loadOrCreateIdentity, loadOrCreateNodeId, pskFromSecret } from './identity.ts';
export { deriveAdvertise, firstNonLoopbackIPv4, type HostPort } from './host.ts';
export { defaultSettings, memberlistLanSettings, settingsFromConfig, type MembershipSettings } from './settings.ts';
export type { MemberView, MemberStatus } from './state.ts';
export { ClusterCertificateError, type ClusterTls } from './tls-protector.ts';
