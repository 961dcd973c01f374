// basic-auth's entity (Kong's daos.lua): the username is unique cluster-wide and the password
// is stored as Kong stores it (crypto.ts), so the Admin API answers with the hash, never the
// password; and the cache index the handler finds a credential by.
import { z } from 'zod';
import type { IndexDefinition } from '../../cache/indexes.ts';
import type { EntityDef } from '../../entities/definition.ts';
import { foreign, str, tags, timestamp, uuid } from '../../entities/fields.ts';
import type { Ref, Uuid } from '../../entities/types.ts';
import { hashBasicAuthPassword } from './crypto.ts';
import { schemaViolation } from '../../entities/errors.ts';

/** `password` is Kong's hash: sha1(password .. consumer id), hex. */
export interface BasicAuthCredential {
  id: Uuid;
  consumer: Ref;
  username: string;
  password: string;
  tags: string[] | null;
  created_at: number;
}

declare module '../../entities/types.ts' {
  interface EntityMap {
    basicauth_credentials: BasicAuthCredential;
  }
  interface ConfigSnapshot {
    // Optional: snapshots written before this entity existed (a data plane's level cache, an
    // older control plane) lack it, and every reader treats absent as empty.
    basicauth_credentials?: BasicAuthCredential[];
  }
}

export const basicauthSchema = z.strictObject({
  id: uuid().optional(),
  created_at: timestamp().optional(),
  consumer: foreign(),
  username: str().min(1, 'length must be at least 1'),
  password: str().min(1, 'length must be at least 1'),
  tags: tags(),
});

export const basicauth_credentials: EntityDef = {
  name: 'basicauth_credentials',
  endpointKey: 'username',
  schema: basicauthSchema as unknown as EntityDef['schema'],
  // Kong's password transformation needs the consumer id: without one, Kong reports the
  // password missing too (its Admin API spec pins that answer).
  prepare(input) {
    const noConsumer = input.consumer === undefined || input.consumer === null;
    if (noConsumer && input.password !== undefined && input.password !== null) {
      return { consumer: 'required field missing', password: 'required field missing' };
    }
    return null;
  },
  // Kong's transformation runs when the write carries a password: a PATCH of the tags alone
  // must not hash the stored hash again.
  onWrite(entity, input) {
    // The hash is salted with the consumer id: moving a credential needs its password again.
    if (input.password === undefined && input.consumer !== undefined) {
      throw schemaViolation({ '@entity': ["all or none of these fields must be set: 'password', 'consumer.id'"] });
    }
    if (input.password === undefined) return;
    const consumer = entity.consumer as { id: string };
    entity.password = hashBasicAuthPassword(consumer.id, entity.password as string);
  },
  columns: { id: 'uuid', created_at: 'ts', consumer: 'fk', username: 'text', password: 'text', tags: 'text[]' },
  foreign: { consumer: 'consumers' },
  uniques: { basicauth_credentials_username_unique: ['username'] },
  cascade: [],
  restrict: [],
  cascadeWith: ['consumer'],
  naturalKey: (e) => String(e.username ?? ''),
  cacheKeys: (e) => [`basicauth_credentials:${e.username}`],
};

/** username → credential. */
export const USERNAME_INDEX = 'basicauth_credentials.username';
export const usernameIndex: IndexDefinition = { name: USERNAME_INDEX, entity: 'basicauth_credentials', kind: 'unique', key: (c: BasicAuthCredential) => c.username };
