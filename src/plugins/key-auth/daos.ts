// key-auth's entity (Kong's daos.lua): credentials whose key is generated when missing and
// unique cluster-wide, and the cache index the handler finds a credential by.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { IndexDefinition } from '../../cache/indexes.ts';
import type { EntityDef } from '../../entities/definition.ts';
import { between, foreign, nullable, str, tags, timestamp, uuid, withDefault } from '../../entities/fields.ts';
import type { Ref, Uuid } from '../../entities/types.ts';

export interface KeyAuthCredential {
  id: Uuid;
  key: string;
  consumer: Ref;
  ttl: number | null;
  tags: string[] | null;
  created_at: number;
}

declare module '../../entities/types.ts' {
  interface EntityMap {
    keyauth_credentials: KeyAuthCredential;
  }
  interface ConfigSnapshot {
    keyauth_credentials: KeyAuthCredential[];
  }
}

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
  cascadeWith: ['consumer'],
  expiresByTtl: true,
  naturalKey: (e) => String(e.key ?? ''),
  cacheKeys: (e) => [`keyauth_credentials:${e.key}`],
};

/** key → credential: the lookup on the request path. */
export const KEY_INDEX = 'keyauth_credentials.key';
export const keyIndex: IndexDefinition = { name: KEY_INDEX, entity: 'keyauth_credentials', kind: 'unique', key: (c: KeyAuthCredential) => c.key };
