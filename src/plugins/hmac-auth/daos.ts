// hmac-auth's entity (Kong's daos.lua): a username unique cluster-wide and a shared secret,
// generated when absent; and the cache index the handler finds a credential by.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { IndexDefinition } from '../../cache/indexes.ts';
import type { EntityDef } from '../../entities/definition.ts';
import { foreign, str, tags, timestamp, uuid, withDefault } from '../../entities/fields.ts';
import type { Ref, Uuid } from '../../entities/types.ts';

export interface HmacAuthCredential {
  id: Uuid;
  consumer: Ref;
  username: string;
  secret: string;
  tags: string[] | null;
  created_at: number;
}

declare module '../../entities/types.ts' {
  interface EntityMap {
    hmacauth_credentials: HmacAuthCredential;
  }
  interface ConfigSnapshot {
    // Optional: snapshots written before this entity existed lack it (read as empty).
    hmacauth_credentials?: HmacAuthCredential[];
  }
}

export const hmacauthSchema = z.strictObject({
  id: uuid().optional(),
  created_at: timestamp().optional(),
  consumer: foreign(),
  // Kong's strings: never empty (len_min 1).
  username: str().min(1, 'length must be at least 1'),
  // Kong's utils.random_string: 32 hex characters.
  secret: withDefault(str().min(1, 'length must be at least 1'), () => randomUUID().replace(/-/g, '')),
  tags: tags(),
});

export const hmacauth_credentials: EntityDef = {
  name: 'hmacauth_credentials',
  endpointKey: 'username',
  schema: hmacauthSchema as unknown as EntityDef['schema'],
  columns: { id: 'uuid', created_at: 'ts', consumer: 'fk', username: 'text', secret: 'text', tags: 'text[]' },
  foreign: { consumer: 'consumers' },
  uniques: { hmacauth_credentials_username_unique: ['username'] },
  cascade: [],
  restrict: [],
  cascadeWith: ['consumer'],
  naturalKey: (e) => String(e.username ?? ''),
  cacheKeys: (e) => [`hmacauth_credentials:${e.username}`],
};

/** username → credential. */
export const USERNAME_INDEX = 'hmacauth_credentials.username';
export const usernameIndex: IndexDefinition = { name: USERNAME_INDEX, entity: 'hmacauth_credentials', kind: 'unique', key: (c: HmacAuthCredential) => c.username };
