// acl's entity (Kong's daos.lua): one row per consumer and group (Kong's cache_key {consumer,
// group} is unique). Like Kong, no endpoint key: a group names a row only under its consumer
// (/consumers/{c}/acls/{group}, see api.ts), never at /acls/{group}. The cache index gives
// the handler a consumer's rows per request.
import { z } from 'zod';
import type { IndexDefinition } from '../../cache/indexes.ts';
import type { EntityDef } from '../../entities/definition.ts';
import { foreign, str, tags, timestamp, uuid } from '../../entities/fields.ts';
import type { Ref, Uuid } from '../../entities/types.ts';

/** A consumer's membership of one group (unique per consumer and group). */
export interface Acl {
  id: Uuid;
  consumer: Ref;
  group: string;
  tags: string[] | null;
  created_at: number;
}

declare module '../../entities/types.ts' {
  interface EntityMap {
    acls: Acl;
  }
  interface ConfigSnapshot {
    // Optional: snapshots written before this entity existed lack it (read as empty).
    acls?: Acl[];
  }
}

export const aclsSchema = z.strictObject({
  id: uuid().optional(),
  created_at: timestamp().optional(),
  consumer: foreign(),
  group: str().min(1, 'length must be at least 1'),
  tags: tags(),
});

const idOf = (v: unknown) => ((v as { id?: unknown } | null)?.id as string | undefined) ?? '';

export const acls: EntityDef = {
  name: 'acls',
  schema: aclsSchema as unknown as EntityDef['schema'],
  columns: { id: 'uuid', created_at: 'ts', consumer: 'fk', group: 'text', tags: 'text[]' },
  foreign: { consumer: 'consumers' },
  uniques: { acls_consumer_group_unique: ['consumer', 'group'] },
  cascade: [],
  restrict: [],
  cascadeWith: ['consumer'],
  naturalKey: (e) => `${idOf(e.consumer)}|${e.group ?? ''}`,
  cacheKeys: (e) => [`acls:${(e.consumer as { id: string }).id}:${e.group}`],
};

/** consumer id → its acl rows by id. */
export const CONSUMER_INDEX = 'acls.consumer';
export const consumerIndex: IndexDefinition = { name: CONSUMER_INDEX, entity: 'acls', kind: 'group', key: (a: Acl) => a.consumer.id };
