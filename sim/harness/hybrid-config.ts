import path from 'node:path';

export interface HybridNodeSpec {
  name: string;
  role: 'control_plane' | 'data_plane';
  ports: { proxy: number; admin: number; cluster: number };
  /** Folder holding cluster.crt / cluster.key (gossamer cluster gen-cert --out). */
  certDir: string;
  /** pg_* keys of the control plane's database. */
  database: Record<string, string | number>;
  /** Cluster port of the control plane that data planes dial. */
  controlPlanePort: number;
}

/** The configuration of a control plane or a data plane on loopback, as the hybrid tests and bench run them. */
export function hybridNodeConfig(s: HybridNodeSpec): Record<string, string | number> {
  return {
    node_name: s.name,
    cluster_role: s.role,
    proxy_listen: s.role === 'control_plane' ? 'off' : `127.0.0.1:${s.ports.proxy}`,
    admin_listen: `127.0.0.1:${s.ports.admin}`,
    cluster_listen: `127.0.0.1:${s.ports.cluster}`,
    cluster_advertise: `127.0.0.1:${s.ports.cluster}`,
    cluster_cert: path.join(s.certDir, 'cluster.crt'),
    cluster_cert_key: path.join(s.certDir, 'cluster.key'),
    worker_processes: 1,
    ...(s.role === 'control_plane'
      ? { database: 'postgres', ...s.database }
      : { database: 'off', cluster_control_plane: `127.0.0.1:${s.controlPlanePort}` }),
  };
}
