// Kong's basic-auth credentials: the username is unique cluster-wide and the password is
// stored as Kong stores it, sha1(password .. consumer id) in hex, so a Kong database's
// hashes verify here and the Admin API answers with the hash, never the password.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { EntityDef } from '../../entities/definition.ts';
import { foreign, str, tags, timestamp, uuid } from '../../entities/fields.ts';

export const basicauthSchema = z.strictObject({
  id: uuid().optional(),
  created_at: timestamp().optional(),
  consumer: foreign(),
  username: str().min(1, 'length must be at least 1'),
  password: str().min(1, 'length must be at least 1'),
  tags: tags(),
});

/** kong/plugins/basic-auth/crypto.lua: the consumer id salts the password. */
export function hashBasicAuthPassword(consumerId: string, password: string): string {
  return createHash('sha1').update(password).update(consumerId).digest('hex');
}

export const basicauth_credentials: EntityDef = {
  name: 'basicauth_credentials',
  endpointKey: 'username',
  schema: basicauthSchema as unknown as EntityDef['schema'],
  // Kong's transformation runs when the write carries a password: a PATCH of the tags alone
  // must not hash the stored hash again.
  onWrite(entity, input) {
    if (input.password === undefined) return;
    const consumer = entity.consumer as { id: string };
    entity.password = hashBasicAuthPassword(consumer.id, entity.password as string);
  },
  columns: { id: 'uuid', created_at: 'ts', consumer: 'fk', username: 'text', password: 'text', tags: 'text[]' },
  foreign: { consumer: 'consumers' },
  uniques: { basicauth_credentials_username_unique: ['username'] },
  cascade: [],
  restrict: [],
  cacheKeys: (e) => [`basicauth_credentials:${e.username}`],
};
