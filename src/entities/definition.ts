// What the generic DAO (src/db/) and the Admin API (src/admin/) need to know about an
// entity: its schema, its columns, its keys and how it relates to others.
import type { z } from 'zod';
import type { EntityName } from './types.ts';
import { schemaViolation } from './errors.ts';
import { issuesToFields, kongMessage } from './fields.ts';

export type ColType = 'uuid' | 'text' | 'int' | 'bool' | 'text[]' | 'uuid[]' | 'jsonb' | 'ts' | 'ts_ms' | 'fk';
// 'ts_ms': seconds with milliseconds, as Kong's auto_timestamp_ms (targets).

export interface Relation {
  /** Child entity, e.g. 'routes'. */
  entity: EntityName;
  /** The child's foreign field, e.g. 'service'. */
  field: string;
}

export interface EntityDef {
  name: EntityName;
  /** The unique field an Admin API URL may name instead of the id ('name', 'username'...). */
  endpointKey?: string;
  /** Full-entity input schema: fills Kong's defaults, rejects unknown fields. */
  schema: z.ZodType<Record<string, unknown>>;
  /** Rewrites before validation (service `url` shorthand). Returns field errors or null. */
  prepare?(input: Record<string, unknown>): Record<string, unknown> | null;
  /** Cross-field rules after field validation (Kong's entity_checks); may rewrite the entity. */
  check?(entity: Record<string, unknown>): Record<string, unknown> | null;
  /**
   * Kong's `transformations` on_write: rewrites the validated entity before it is stored,
   * given the fields the client sent in this write (POST/PUT body or PATCH patch).
   */
  onWrite?(entity: Record<string, unknown>, input: Record<string, unknown>): void;
  /** Output fields → column type; 'fk' field `service` is stored in column `service_id`. */
  columns: Record<string, ColType>;
  /** Foreign field → parent entity. */
  foreign: Record<string, EntityName>;
  /** Postgres unique constraint name → the entity fields it covers (for 409 bodies). */
  uniques: Record<string, string[]>;
  /** Columns only the database holds (plugins.cache_key), computed from the entity. */
  derived?(entity: Record<string, unknown>): Record<string, string | null>;
  /** Fields whose records merge on PATCH (Kong merges nested records, not arrays). */
  mergeable?: string[];
  /** Children deleted with this entity (Kong's on_delete = "cascade"). */
  cascade: Relation[];
  /**
   * Foreign fields whose parent's delete deletes this entity too (Kong's on_delete =
   * "cascade" on the field): how a plugin's entity joins its core parent's `cascade` list.
   */
  cascadeWith?: string[];
  /** What makes two records the same one when a declarative file gives no id (Kong's unique fields). */
  naturalKey?(entity: Record<string, unknown>): string | null;
  /** Children that forbid deleting this entity while they exist. */
  restrict: Relation[];
  /**
   * Rows whose `ttl` (seconds after created_at) has run out are gone for reads, as Kong's
   * DAO `ttl` option makes them (a plugin's credentials).
   */
  expiresByTtl?: boolean;
  /** Extra cache keys besides `<name>:<id>` (Kong's cache_key fields). */
  cacheKeys?(entity: Record<string, unknown>): string[];
}

export const column = (field: string, type: ColType) => (type === 'fk' ? `${field}_id` : field);

/**
 * Validate a whole entity. Returns the entity with defaults filled, or throws Kong's 400
 * schema violation.
 */
export function validateEntity(def: EntityDef, input: Record<string, unknown>): Record<string, unknown> {
  const prepared = { ...input };
  const pre = def.prepare?.(prepared);
  if (pre) throw schemaViolation(pre);
  const parsed = def.schema.safeParse(prepared, { error: kongMessage });
  if (!parsed.success) throw schemaViolation(issuesToFields(parsed.error.issues));
  const entity = parsed.data;
  const errs = def.check?.(entity);
  if (errs) throw schemaViolation(errs);
  return entity;
}
