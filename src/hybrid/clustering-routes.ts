// GET /clustering/data-planes and GET /clustering/status (Kong 3's hybrid-mode endpoints).
// Only a control plane has them; every other role answers Kong's 400.
import type { Cluster } from '../cluster/index.ts';
import type { DataPlaneRecord } from '../sync/push/data-planes.ts';
import type { Router } from '../admin/router.ts';

export interface ClusteringDeps {
  cluster: () => Pick<Cluster, 'members'> | null;
  dataPlanes: () => Map<string, DataPlaneRecord>;
  configHash: () => string;
  configVersion: () => number;
}

export const NOT_A_CONTROL_PLANE = 'this endpoint is only available when Gossamer is configured to run as Control Plane for the cluster';

export interface DataPlaneView {
  id: string;
  ip: string;
  hostname: string;
  version: string;
  config_hash: string | null;
  last_seen: number;
  sync_status: 'normal' | 'unknown';
  labels: Record<string, string>;
  updated_at: number;
  // Gossamer's additions.
  name: string;
  status: string;
  config_version: number | null;
  in_sync: boolean;
}

export function listDataPlanes(d: ClusteringDeps): DataPlaneView[] {
  const records = d.dataPlanes();
  const hash = d.configHash();
  const out = new Map<string, DataPlaneView>();
  const secs = (ms: number) => Math.floor(ms / 1000);
  for (const m of d.cluster()?.members() ?? []) {
    if (m.role !== 'data_plane') continue;
    const r = records.get(m.id);
    const lastSeen = Math.max(Date.parse(m.last_seen) || 0, r?.last_sync ?? 0);
    const inSync = m.status === 'alive' && m.config_hash === hash;
    out.set(m.id, {
      id: m.id,
      ip: r?.ip ?? m.address.replace(/:\d+$/, ''),
      hostname: r?.hostname ?? m.name,
      version: m.version,
      config_hash: m.config_hash,
      last_seen: secs(lastSeen),
      sync_status: m.status === 'alive' ? 'normal' : 'unknown',
      labels: {},
      updated_at: secs(lastSeen),
      name: m.name,
      status: m.status,
      config_version: m.config_version,
      in_sync: inSync,
    });
  }
  // Data planes that fetched a configuration but are not (or no longer) in the membership.
  for (const r of records.values()) {
    if (out.has(r.id)) continue;
    out.set(r.id, {
      id: r.id,
      ip: r.ip,
      hostname: r.hostname,
      version: r.version,
      config_hash: r.served_hash,
      last_seen: secs(r.last_sync),
      sync_status: 'unknown',
      labels: {},
      updated_at: secs(r.last_sync),
      name: r.name,
      status: 'unknown',
      config_version: r.served_version,
      in_sync: r.served_hash === hash,
    });
  }
  return [...out.values()].sort((a, b) => a.id.localeCompare(b.id));
}

export function registerClustering(router: Router, deps: ClusteringDeps | null): void {
  const refuse = { status: 400, body: { message: NOT_A_CONTROL_PLANE } };
  router.add('GET', '/clustering/data-planes', () => (deps ? { status: 200, body: { data: listDataPlanes(deps), next: null } } : refuse));
  router.add('GET', '/clustering/status', () => {
    if (!deps) return refuse;
    const body: Record<string, { config_hash: string | null; hostname: string; ip: string; last_seen: number }> = {};
    for (const dp of listDataPlanes(deps)) body[dp.id] = { config_hash: dp.config_hash, hostname: dp.hostname, ip: dp.ip, last_seen: dp.last_seen };
    return { status: 200, body };
  });
}
