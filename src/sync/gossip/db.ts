// Reading the cluster_events log for repair, by writing-transaction id (migration 003).
//
// Why not "config_version > last applied": versions are taken inside transactions, so 11 can
// commit before 10, and a reader that saw 11 and moved past 10 would lose it. Instead each
// read runs in one snapshot and returns that snapshot's xmin: every transaction with an id
// below xmin has ended, so any row that becomes visible later was written by a transaction
// with id >= xmin. The next read asks for `txid >= xmin` and cannot miss a row. Rows seen
// twice are harmless: the cache is last-writer-wins by config_version.
import type pg from 'pg';
import type { ChangeEvent, ConfigSnapshot } from '../../entities/types.ts';
import type { SnapshotMeta } from '../../cache/node-cache.ts';
import { entities, ENTITY_ORDER } from '../../entities/index.ts';
import { rowToEntity } from '../../db/rows.ts';
import { rowToEvent as rowToChangeEvent } from '../../db/events.ts';
import { withTransaction } from '../../db/tx.ts';

export type Queryable = pg.Pool | pg.PoolClient;
export type SnapshotLoader = (q: Queryable) => Promise<ConfigSnapshot>;

/**
 * The whole configuration read on `q` (src/db's loadSnapshot opens its own transaction; this
 * one runs inside the caller's, with the same row conversion as the write path's event data).
 */
export async function loadSnapshotOn(q: Queryable): Promise<ConfigSnapshot> {
  const snap: Record<string, unknown> = { config_version: 0 };
  for (const name of ENTITY_ORDER) {
    const res = await q.query(`SELECT * FROM ${name} ORDER BY id`);
    snap[name] = res.rows.map((r) => rowToEntity(entities[name], r));
  }
  return snap as unknown as ConfigSnapshot;
}

/** One cleaner at a time across the cluster (pg_try_advisory_xact_lock key). */
const CLEANUP_LOCK = 0x6f55a3e5;

const EVENT_COLUMNS = 'e.id, e.config_version, e.entity, e.op, e.entity_id, e.cache_keys, e.data, e.node_id, e.created_at';

export { rowToChangeEvent };

export interface EventsRead {
  events: ChangeEvent[];
  /** The read's snapshot xmin: the cursor for the next read. */
  xmin: bigint;
  xmax: bigint;
  /** Highest config_version visible in that snapshot (0 on an empty log). */
  maxVisible: number;
}

/**
 * Every event written by a transaction with id >= cursor and visible now, in version order,
 * above `low` (versions at or below the low-water mark are applied or dead: a long-running
 * transaction elsewhere that holds xmin back must not make every poll re-read the log).
 */
export async function readEventsSince(q: Queryable, cursor: bigint, low = 0): Promise<EventsRead> {
  // One statement, one snapshot: the rows, its xmin/xmax and the max version agree.
  const { rows } = await q.query(
    `WITH s AS (SELECT pg_current_snapshot() AS snap)
     SELECT pg_snapshot_xmin(s.snap)::text AS snap_xmin, pg_snapshot_xmax(s.snap)::text AS snap_xmax,
            (SELECT max(config_version) FROM cluster_events) AS max_visible, ${EVENT_COLUMNS}
       FROM s LEFT JOIN cluster_events e ON e.txid >= $1::text::xid8 AND e.config_version > $2
      ORDER BY e.config_version`,
    [cursor.toString(), low],
  );
  const first = rows[0] as Record<string, unknown>;
  return {
    events: rows.filter((r) => r.id != null).map(rowToChangeEvent),
    xmin: BigInt(first.snap_xmin as string),
    xmax: BigInt(first.snap_xmax as string),
    maxVisible: Number(first.max_visible ?? 0),
  };
}

export interface SnapshotRead {
  snapshot: ConfigSnapshot;
  meta: SnapshotMeta;
  /** Cursor for the first readEventsSince after this snapshot. */
  xmin: bigint;
}

/**
 * The whole configuration and the cluster_events versions it reflects, in one REPEATABLE
 * READ transaction so the entities, the log and the cursor describe the same moment.
 */
export async function readSnapshot(pool: pg.Pool, loadSnapshot: SnapshotLoader = loadSnapshotOn): Promise<SnapshotRead> {
  return withTransaction(
    pool,
    async (client) => {
      // The first statement fixes the transaction's snapshot.
      const s = await client.query(
        `SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS snap_xmin, pg_snapshot_xmax(pg_current_snapshot())::text AS snap_xmax`,
      );
      const snapshot = await loadSnapshot(client);
      const ev = await client.query<{ config_version: string; entity: string; entity_id: string }>(
        'SELECT config_version, entity, entity_id FROM cluster_events ORDER BY config_version',
      );
      const versions: number[] = [];
      const entityVersions = new Map<string, number>();
      for (const r of ev.rows) {
        const v = Number(r.config_version);
        versions.push(v);
        entityVersions.set(`${r.entity}:${r.entity_id}`, v); // ordered: the last one is the highest
      }
      const xmin = BigInt(s.rows[0].snap_xmin);
      return { snapshot, meta: { versions, entityVersions, xmax: BigInt(s.rows[0].snap_xmax) }, xmin };
    },
    'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
  );
}

/**
 * Delete expired events (expire_at passed, or older than the retention) if no other node is
 * doing it right now. Returns the number deleted, or null when another node holds the lock.
 */
export async function cleanupEvents(pool: pg.Pool, retentionSeconds: number): Promise<number | null> {
  return withTransaction(pool, async (client) => {
    // Held until the transaction ends; another node cleaning right now makes this a no-op.
    const lock = await client.query('SELECT pg_try_advisory_xact_lock($1) AS got', [CLEANUP_LOCK]);
    if (!lock.rows[0].got) return null;
    const del = await client.query(
      `DELETE FROM cluster_events WHERE expire_at < now() OR created_at < now() - make_interval(secs => $1)`,
      [retentionSeconds],
    );
    return del.rowCount ?? 0;
  });
}
