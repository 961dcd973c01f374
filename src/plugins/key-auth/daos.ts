// Kong's key-auth credentials: the key is generated when missing and unique cluster-wide.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { EntityDef } from '../../entities/definition.ts';
import { between, foreign, nullable, str, tags, timestamp, uuid, withDefault } from '../../entities/fields.ts';

export const keyauthSchema = z.strictObject({
  id: uuid().optional(),
  created_at: timestamp().optional(),
  consumer: foreign(),
  key: withDefault(str().min(1, 'length must be at least 1').max(1024, 'length must be at most 1024'), () => randomBytes(16).toString('hex')),
  ttl: nullable(between(0, 100000000)),
  tags: tags(),
});

export const keyauth_credentials: EntityDef = {
  name: 'keyauth_credentials',
  endpointKey: 'key',
  schema: keyauthSchema as unknown as EntityDef['schema'],
  columns: { id: 'uuid', created_at: 'ts', consumer: 'fk', key: 'text', ttl: 'int', tags: 'text[]' },
  foreign: { consumer: 'consumers' },
  uniques: { keyauth_credentials_key_unique: ['key'] },
  cascade: [],
  restrict: [],
  cacheKeys: (e) => [`keyauth_credentials:${e.key}`],
};
