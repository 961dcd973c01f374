import type { Queryable } from './pool.ts';

// The cluster_nodes registry: how a node in DB mode finds its peers with nothing but the
// shared database. Rows are refreshed every few seconds (last_seen); a graceful stop deletes
// its own row, a crashed node's row just ages out.

export interface ClusterNodeRow {
  id: string;
  name: string;
  peer_id: string;
  addresses: string[];
  role: string;
  version: string;
  config_version: number;
  config_hash: string | null;
  started_at: Date | null;
  last_seen: Date;
}

export type ClusterNodeRegistration = Omit<ClusterNodeRow, 'last_seen'>;

export interface ClusterNodesStore {
  /** Insert or refresh this node's row; last_seen becomes now(). */
  upsert(row: ClusterNodeRegistration): Promise<void>;
  /** Rows seen within the last `withinMs` milliseconds (by the database clock). */
  listLive(withinMs: number): Promise<ClusterNodeRow[]>;
  list(): Promise<ClusterNodeRow[]>;
  remove(id: string): Promise<void>;
}

function toRow(r: Record<string, unknown>): ClusterNodeRow {
  return {
    id: r.id as string,
    name: r.name as string,
    peer_id: r.peer_id as string,
    addresses: (r.addresses as string[]) ?? [],
    role: r.role as string,
    version: r.version as string,
    config_version: Number(r.config_version ?? 0),
    config_hash: (r.config_hash as string | null) ?? null,
    started_at: (r.started_at as Date | null) ?? null,
    last_seen: r.last_seen as Date,
  };
}

const COLUMNS = 'id, name, peer_id, addresses, role, version, config_version, config_hash, started_at, last_seen';

export function createClusterNodesStore(db: Queryable): ClusterNodesStore {
  return {
    async upsert(row) {
      await db.query(
        `INSERT INTO cluster_nodes (id, name, peer_id, addresses, role, version, config_version, config_hash, started_at, last_seen)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, peer_id = EXCLUDED.peer_id, addresses = EXCLUDED.addresses,
           role = EXCLUDED.role, version = EXCLUDED.version, config_version = EXCLUDED.config_version,
           config_hash = EXCLUDED.config_hash, started_at = EXCLUDED.started_at, last_seen = now()`,
        [row.id, row.name, row.peer_id, row.addresses, row.role, row.version, row.config_version, row.config_hash, row.started_at],
      );
    },
    async listLive(withinMs) {
      const { rows } = await db.query(
        `SELECT ${COLUMNS} FROM cluster_nodes WHERE last_seen > now() - make_interval(secs => $1) ORDER BY name`,
        [withinMs / 1000],
      );
      return rows.map(toRow);
    },
    async list() {
      const { rows } = await db.query(`SELECT ${COLUMNS} FROM cluster_nodes ORDER BY name`);
      return rows.map(toRow);
    },
    async remove(id) {
      await db.query('DELETE FROM cluster_nodes WHERE id = $1', [id]);
    },
  };
}
