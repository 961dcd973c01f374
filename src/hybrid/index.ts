// Hybrid mode (control plane / data plane): the composition root's entry points.
export { startDataPlane, type DataPlane, type DataPlaneDeps } from './data-plane.ts';
export { attachControlPlane, withoutDataPlanes, type ControlPlane, type ControlPlaneOptions } from '../sync/push/control-plane.ts';
export { registerClustering, NOT_A_CONTROL_PLANE } from './clustering-routes.ts';
export { generateClusterCert, writeClusterCert, loadClusterIdentity } from './cert.ts';
export { SYNC_PROTOCOL } from '../sync/push/protocol.ts';
export { clusterPsk } from './psk.ts';
