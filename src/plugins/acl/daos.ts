// Kong's acl groups: one row per consumer and group (Kong's cache_key {consumer, group} is
// unique). Like Kong, no endpoint key: a group names a row only under its consumer
// (/consumers/{c}/acls/{group}, see src/admin/acls.ts), never at /acls/{group}.
import { z } from 'zod';
import type { EntityDef } from '../../entities/definition.ts';
import { foreign, str, tags, timestamp, uuid } from '../../entities/fields.ts';

export const aclSchema = z.strictObject({
  id: uuid().optional(),
  created_at: timestamp().optional(),
  consumer: foreign(),
  group: str().min(1, 'length must be at least 1'),
  tags: tags(),
});

export const acls: EntityDef = {
  name: 'acls',
  schema: aclSchema as unknown as EntityDef['schema'],
  columns: { id: 'uuid', created_at: 'ts', consumer: 'fk', group: 'text', tags: 'text[]' },
  foreign: { consumer: 'consumers' },
  uniques: { acls_consumer_group_unique: ['consumer', 'group'] },
  cascade: [],
  restrict: [],
  cacheKeys: (e) => [`acls:${(e.consumer as { id: string }).id}:${e.group}`],
};
