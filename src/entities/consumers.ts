// Kong 3 consumers: username or custom_id, both unique.
import { z } from 'zod';
import type { EntityDef } from './definition.ts';
import { nullable, str, tags, timestamp, uuid } from './fields.ts';

const ident = () => str().min(1, 'length must be at least 1').max(1024, 'length must be at most 1024');

export const consumerSchema = z.strictObject({
  id: uuid().optional(),
  created_at: timestamp().optional(),
  updated_at: timestamp().optional(),
  username: nullable(ident()),
  custom_id: nullable(ident()),
  tags: tags(),
});

export const consumers: EntityDef = {
  name: 'consumers',
  endpointKey: 'username',
  schema: consumerSchema as unknown as EntityDef['schema'],
  check(e) {
    if (!e.username && !e.custom_id) {
      return { '@entity': ["at least one of these fields must be non-empty: 'custom_id', 'username'"] };
    }
    return null;
  },
  columns: { id: 'uuid', created_at: 'ts', updated_at: 'ts', username: 'text', custom_id: 'text', tags: 'text[]' },
  foreign: {},
  uniques: { consumers_username_unique: ['username'], consumers_custom_id_unique: ['custom_id'] },
  // Plugins' credentials join this list from their own definitions (cascadeWith, see index.ts).
  cascade: [{ entity: 'plugins', field: 'consumer' }],
  restrict: [],
  cacheKeys: (e) => (e.username ? [`consumers:username:${e.username}`] : []),
};
