// Reads: one entity by id or endpoint key, and Kong-style pages (ordered by id, opaque offset).
import type pg from 'pg';
import { entities } from '../entities/index.ts';
import type { EntityName } from '../entities/types.ts';
import { invalidOffset, invalidSize } from '../entities/errors.ts';
import { isUuid } from '../entities/fields.ts';
import { column } from '../entities/definition.ts';
import { quoteIdent, rowToEntity } from './rows.ts';

/** How a URL names an entity: its id or its endpoint key ("name", "username"...). */
export type EntityKey = { id: string } | { field: string; value: string };

/** Restrict to the children of one parent, e.g. `/services/{id}/routes`. */
export interface Scope {
  field: string;
  id: string;
}

/**
 * Kong's rule: a UUID is an id, anything else the endpoint key. Null when neither fits.
 * `endpointKey` overrides the entity's for one URL (a group names a row only under its consumer).
 */
export function keyFromParam(entity: EntityName, raw: string, endpointKey = entities[entity].endpointKey): EntityKey | null {
  if (isUuid(raw)) return { id: raw.toLowerCase() };
  const ek = endpointKey;
  return ek ? { field: ek, value: raw } : null;
}

const NOT_EXPIRED = `(ttl IS NULL OR ttl = 0 OR created_at + make_interval(secs => ttl) > now())`;

function whereKey(entity: EntityName, key: EntityKey, scope: Scope | undefined, params: unknown[]): string {
  const parts: string[] = [];
  if ('id' in key) {
    params.push(key.id);
    parts.push(`id = $${params.length}::uuid`);
  } else {
    const def = entities[entity];
    const type = def.columns[key.field];
    if (!type) throw new Error(`${entity} has no field ${key.field}`);
    params.push(key.value);
    parts.push(`${quoteIdent(column(key.field, type))} = $${params.length}`);
  }
  if (scope) {
    params.push(scope.id);
    parts.push(`${scope.field}_id = $${params.length}::uuid`);
  }
  if (entities[entity].expiresByTtl) parts.push(NOT_EXPIRED);
  return parts.join(' AND ');
}

export async function selectEntity(
  q: pg.Pool | pg.PoolClient,
  entity: EntityName,
  key: EntityKey,
  opts: { scope?: Scope; forUpdate?: boolean } = {},
): Promise<Record<string, unknown> | null> {
  const params: unknown[] = [];
  const where = whereKey(entity, key, opts.scope, params);
  const { rows } = await q.query(`SELECT * FROM ${entity} WHERE ${where} LIMIT 1${opts.forUpdate ? ' FOR UPDATE' : ''}`, params);
  return rows[0] ? rowToEntity(entities[entity], rows[0]) : null;
}

export interface PageOptions {
  size?: number;
  offset?: string;
  tags?: string[];
  tagsCond?: 'and' | 'or';
  scope?: Scope;
  /** Exact matches on text fields (GET /consumers?custom_id=x). */
  filters?: Record<string, string>;
}

export interface Page {
  data: Record<string, unknown>[];
  offset: string | null;
}

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

export function encodeOffset(id: string): string {
  return Buffer.from(JSON.stringify([id])).toString('base64');
}

export function decodeOffset(token: string): string {
  // A lone trailing base64 character encodes no byte: Kong's decoder refuses it.
  if (!/^[A-Za-z0-9+/_-]+=*$/.test(token) || token.replace(/=+$/, '').length % 4 === 1) throw invalidOffset(token, 'bad base64 encoding');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
  } catch {
    throw invalidOffset(token, 'bad json encoding');
  }
  if (!Array.isArray(parsed) || !isUuid(parsed[0])) throw invalidOffset(token, 'bad json encoding');
  return parsed[0];
}

export async function pageEntities(q: pg.Pool | pg.PoolClient, entity: EntityName, opts: PageOptions = {}): Promise<Page> {
  const size = opts.size ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) throw invalidSize(`size must be an integer between 1 and ${MAX_PAGE_SIZE}`);
  const params: unknown[] = [];
  const where: string[] = [];
  if (opts.offset !== undefined) {
    params.push(decodeOffset(opts.offset));
    where.push(`id > $${params.length}::uuid`);
  }
  if (opts.scope) {
    params.push(opts.scope.id);
    where.push(`${opts.scope.field}_id = $${params.length}::uuid`);
  }
  for (const [field, value] of Object.entries(opts.filters ?? {})) {
    if (entities[entity].columns[field] !== 'text') continue;
    params.push(value);
    where.push(`${quoteIdent(field)} = $${params.length}`);
  }
  if (entities[entity].expiresByTtl) where.push(NOT_EXPIRED);
  if (opts.tags && opts.tags.length > 0) {
    params.push(opts.tags);
    where.push(opts.tagsCond === 'or' ? `tags && $${params.length}::text[]` : `tags @> $${params.length}::text[]`);
  }
  params.push(size + 1);
  const sql = `SELECT * FROM ${entity}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT $${params.length}`;
  const { rows } = await q.query(sql, params);
  const def = entities[entity];
  const more = rows.length > size;
  const data = rows.slice(0, size).map((r) => rowToEntity(def, r));
  return { data, offset: more ? encodeOffset(data[data.length - 1]!.id as string) : null };
}
