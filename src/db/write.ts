// The write path. Every create / update / upsert / delete — cascades included — writes the
// entity rows AND one cluster_events row per changed entity in ONE transaction, then returns
// the committed events. Kong writes the event separately and can lose it when the node dies
// in between (Kong/kong#8176); here the event commits exactly when the entity does.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { entities, validateEntity } from '../entities/index.ts';
import type { EntityDef } from '../entities/definition.ts';
import type { ChangeEvent, EntityName } from '../entities/types.ts';
import { KongError, foreignKeyViolation, primaryKeyViolation, referencedBy, uniqueViolation } from '../entities/errors.ts';
import { column } from '../entities/definition.ts';
import { entityColumns, rowToEntity } from './rows.ts';
import { withTransaction } from './tx.ts';
import { writeEvent } from './events.ts';
import { selectEntity, type EntityKey, type Scope } from './read.ts';
import { isConnectionError } from './pool.ts';

export interface WriteOptions {
  /** The writing node, recorded in cluster_events.node_id. */
  nodeId?: string | null;
  /** Only touch an entity that belongs to this parent (nested Admin API URLs). */
  scope?: Scope;
  /**
   * Store values as given, without the entity's on-write transformation: a declarative file
   * with `_transform: false` (Kong's db_export) holds credential passwords already hashed.
   */
  raw?: boolean;
}

export interface WriteResult {
  /** The entity after the change; for delete, the deleted entity; null when not found. */
  entity: Record<string, unknown> | null;
  events: ChangeEvent[];
  created?: boolean;
}

const now = () => Math.floor(Date.now() / 1000);

export function cacheKeysOf(def: EntityDef, e: Record<string, unknown>): string[] {
  return [`${def.name}:${e.id}`, ...(def.cacheKeys?.(e) ?? [])];
}

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])];
}

/** Kong merges nested records on PATCH (plugin config, healthchecks), replaces everything else. */
function deepMerge(base: unknown, patch: unknown, depth = 0): unknown {
  const isRec = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (depth > 32 || !isRec(base) || !isRec(patch)) return patch;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = deepMerge(base[k], v, depth + 1);
  return out;
}

function mergePatch(def: EntityDef, existing: Record<string, unknown>, patch: Record<string, unknown>) {
  const merged: Record<string, unknown> = { ...existing };
  for (const [k, v] of Object.entries(patch)) {
    merged[k] = def.mergeable?.includes(k) ? deepMerge(existing[k], v) : v;
  }
  return merged;
}

async function checkForeignKeys(client: pg.PoolClient, def: EntityDef, e: Record<string, unknown>, before?: Record<string, unknown>) {
  for (const [field, parent] of Object.entries(def.foreign)) {
    const ref = e[field] as { id?: string } | null | undefined;
    if (!ref?.id) continue;
    if (before && (before[field] as { id?: string } | null)?.id === ref.id) continue;
    // KEY SHARE holds the parent against a concurrent delete until we commit.
    const { rowCount } = await client.query(`SELECT 1 FROM ${parent} WHERE id = $1::uuid FOR KEY SHARE`, [ref.id]);
    if (!rowCount) throw foreignKeyViolation(field, { id: ref.id }, parent);
  }
}

/** Map a Postgres error raised by a write to Kong's answer, or rethrow it. */
function mapPgError(def: EntityDef, e: Record<string, unknown> | null, err: unknown): never {
  if (err instanceof KongError || isConnectionError(err)) throw err;
  const pgErr = err as { code?: string; constraint?: string; message?: string };
  if (pgErr.code === '23505' && pgErr.constraint) {
    if (pgErr.constraint === `${def.name}_pkey` && e) throw primaryKeyViolation(String(e.id));
    const fields = def.uniques[pgErr.constraint];
    if (fields && e) {
      const key: Record<string, unknown> = {};
      for (const f of fields) key[f] = e[f] ?? null;
      throw uniqueViolation(key);
    }
  }
  if (pgErr.code === '23503' && e) {
    for (const [field, parent] of Object.entries(def.foreign)) {
      if (pgErr.constraint === `${def.name}_${field}_fk`) throw foreignKeyViolation(field, e[field] as Record<string, unknown>, parent);
    }
  }
  if (pgErr.code === '23503' && !e && pgErr.constraint) {
    // A child inserted concurrently after our restrict check: the database's RESTRICT caught it.
    const child = Object.keys(entities).find((n) => pgErr.constraint!.startsWith(`${n}_`));
    if (child) throw referencedBy(def.name, child);
  }
  // Data exceptions (bad encoding, out of range) and program limits (index row too large)
  // come from a value the schema let through: the client's fault, not a server error.
  if (pgErr.code && (pgErr.code.startsWith('22') || pgErr.code.startsWith('54'))) {
    throw new KongError(400, { message: `invalid value: ${String(pgErr.message).split('\n')[0]}` });
  }
  throw err;
}

async function insertRow(client: pg.PoolClient, def: EntityDef, e: Record<string, unknown>) {
  const { cols, exprs, params } = entityColumns(def, e);
  const { rows } = await client.query(`INSERT INTO ${def.name} (${cols.join(', ')}) VALUES (${exprs.join(', ')}) RETURNING *`, params);
  return rowToEntity(def, rows[0]);
}

async function updateRow(client: pg.PoolClient, def: EntityDef, e: Record<string, unknown>) {
  const { cols, exprs, params } = entityColumns(def, e);
  params.push(e.id);
  const sets = cols.map((c, i) => `${c} = ${exprs[i]}`).join(', ');
  const { rows } = await client.query(`UPDATE ${def.name} SET ${sets} WHERE id = $${params.length}::uuid RETURNING *`, params);
  return rowToEntity(def, rows[0]);
}

function stamp(def: EntityDef, e: Record<string, unknown>, createdAt: unknown) {
  const t = def.columns.created_at === 'ts_ms' ? Date.now() / 1000 : now();
  e.created_at = typeof createdAt === 'number' ? createdAt : t;
  if ('updated_at' in def.columns) e.updated_at = t;
  else delete e.updated_at;
}

/** Validate and insert a new entity (POST). */
export async function insertEntity(pool: pg.Pool, name: EntityName, input: Record<string, unknown>, opts: WriteOptions = {}): Promise<WriteResult> {
  const def = entities[name];
  const e = validateEntity(def, input);
  def.onWrite?.(e, input);
  e.id = typeof e.id === 'string' ? e.id.toLowerCase() : randomUUID();
  stamp(def, e, undefined);
  try {
    return await withTransaction(pool, async (client) => {
      await checkForeignKeys(client, def, e);
      const saved = await insertRow(client, def, e);
      const ev = await writeEvent(client, { entity: name, op: 'create', entity_id: saved.id as string, cache_keys: cacheKeysOf(def, saved), data: saved, node_id: opts.nodeId ?? null });
      return { entity: saved, events: [ev], created: true };
    });
  } catch (err) {
    mapPgError(def, e, err);
  }
}

/** Partial update (PATCH). Null entity when the key names nothing. */
export async function updateEntity(pool: pg.Pool, name: EntityName, key: EntityKey, patch: Record<string, unknown>, opts: WriteOptions = {}): Promise<WriteResult> {
  const def = entities[name];
  let e: Record<string, unknown> | null = null;
  try {
    return await withTransaction(pool, async (client) => {
      const existing = await selectEntity(client, name, key, { scope: opts.scope, forUpdate: true });
      if (!existing) return { entity: null, events: [] };
      const merged = mergePatch(def, existing, patch);
      merged.id = existing.id;
      delete merged.created_at;
      delete merged.updated_at;
      e = validateEntity(def, merged);
      def.onWrite?.(e, patch);
      e.id = existing.id;
      stamp(def, e, existing.created_at);
      await checkForeignKeys(client, def, e, existing);
      const saved = await updateRow(client, def, e);
      const ev = await writeEvent(client, {
        entity: name,
        op: 'update',
        entity_id: saved.id as string,
        cache_keys: union(cacheKeysOf(def, existing), cacheKeysOf(def, saved)),
        data: saved,
        node_id: opts.nodeId ?? null,
      });
      return { entity: saved, events: [ev], created: false };
    });
  } catch (err) {
    mapPgError(def, e, err);
  }
}

/** Create or replace (PUT) by id or endpoint key. */
export async function upsertEntity(pool: pg.Pool, name: EntityName, key: EntityKey, input: Record<string, unknown>, opts: WriteOptions = {}): Promise<WriteResult> {
  const def = entities[name];
  let e: Record<string, unknown> | null = null;
  try {
    return await withTransaction(pool, async (client) => {
      const existing = await selectEntity(client, name, key, { scope: opts.scope, forUpdate: true });
      const body = { ...input };
      delete body.created_at;
      delete body.updated_at;
      if ('id' in key) body.id = key.id;
      else {
        body[key.field] = key.value;
        if (existing) body.id = existing.id;
      }
      e = validateEntity(def, body);
      if (!opts.raw) def.onWrite?.(e, body);
      e.id = typeof e.id === 'string' ? e.id.toLowerCase() : randomUUID();
      stamp(def, e, existing?.created_at);
      await checkForeignKeys(client, def, e, existing ?? undefined);
      const saved = existing ? await updateRow(client, def, e) : await insertRow(client, def, e);
      const ev = await writeEvent(client, {
        entity: name,
        op: existing ? 'update' : 'create',
        entity_id: saved.id as string,
        cache_keys: existing ? union(cacheKeysOf(def, existing), cacheKeysOf(def, saved)) : cacheKeysOf(def, saved),
        data: saved,
        node_id: opts.nodeId ?? null,
      });
      return { entity: saved, events: [ev], created: !existing };
    });
  } catch (err) {
    mapPgError(def, e, err);
  }
}

async function deleteWithCascades(client: pg.PoolClient, def: EntityDef, existing: Record<string, unknown>, nodeId: string | null, events: ChangeEvent[]) {
  const id = existing.id as string;
  for (const r of def.restrict) {
    const { rowCount } = await client.query(`SELECT 1 FROM ${r.entity} WHERE ${r.field}_id = $1::uuid LIMIT 1`, [id]);
    if (rowCount) throw referencedBy(def.name, r.entity);
  }
  for (const c of def.cascade) {
    const childDef = entities[c.entity];
    const { rows } = await client.query(`SELECT * FROM ${c.entity} WHERE ${column(c.field, 'fk')} = $1::uuid ORDER BY id FOR UPDATE`, [id]);
    for (const row of rows) await deleteWithCascades(client, childDef, rowToEntity(childDef, row), nodeId, events);
  }
  await client.query(`DELETE FROM ${def.name} WHERE id = $1::uuid`, [id]);
  events.push(await writeEvent(client, { entity: def.name, op: 'delete', entity_id: id, cache_keys: cacheKeysOf(def, existing), data: null, node_id: nodeId }));
}

/** Delete (DELETE) with Kong's cascades; a missing entity is not an error (Kong answers 204). */
export async function deleteEntity(pool: pg.Pool, name: EntityName, key: EntityKey, opts: WriteOptions = {}): Promise<WriteResult> {
  const def = entities[name];
  try {
    return await withTransaction(pool, async (client) => {
      const existing = await selectEntity(client, name, key, { scope: opts.scope, forUpdate: true });
      if (!existing) return { entity: null, events: [] };
      const events: ChangeEvent[] = [];
      await deleteWithCascades(client, def, existing, opts.nodeId ?? null, events);
      return { entity: existing, events };
    });
  } catch (err) {
    mapPgError(def, null, err);
  }
}
