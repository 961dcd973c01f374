// jwt's entity (Kong's daos.lua): a consumer's secret, found by `key` (unique, generated when
// absent, as is the secret); the asymmetric algorithms need a public key that parses.
import { createPublicKey, randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { IndexDefinition } from '../../cache/indexes.ts';
import type { EntityDef } from '../../entities/definition.ts';
import { foreign, nullable, oneOf, str, tags, timestamp, uuid, withDefault } from '../../entities/fields.ts';
import type { Ref, Uuid } from '../../entities/types.ts';

export const ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof ALGORITHMS)[number];

export interface JwtSecret {
  id: Uuid;
  consumer: Ref;
  key: string;
  secret: string;
  algorithm: JwtAlgorithm;
  rsa_public_key: string | null;
  tags: string[] | null;
  created_at: number;
}

declare module '../../entities/types.ts' {
  interface EntityMap {
    jwt_secrets: JwtSecret;
  }
  interface ConfigSnapshot {
    // Optional: snapshots written before this entity existed lack it (read as empty).
    jwt_secrets?: JwtSecret[];
  }
}

/** Kong's utils.random_string: 32 hex characters. */
const randomString = () => randomUUID().replace(/-/g, '');

export const jwtSecretsSchema = z.strictObject({
  id: uuid().optional(),
  created_at: timestamp().optional(),
  consumer: foreign(),
  // Kong's strings: never empty (len_min 1).
  key: withDefault(str().min(1, 'length must be at least 1'), randomString),
  secret: withDefault(str().min(1, 'length must be at least 1'), randomString),
  rsa_public_key: nullable(str().min(1, 'length must be at least 1')),
  algorithm: withDefault(oneOf(ALGORITHMS), () => 'HS256'),
  tags: tags(),
});

/** Kong's entity check: RS*, PS* and EdDSA need rsa_public_key, and it must be a key. */
function checkPublicKey(entity: Record<string, unknown>): Record<string, unknown> | null {
  if (!/^(RS256|RS384|RS512|PS256|PS384|PS512|EdDSA)$/.test(String(entity.algorithm))) return null;
  const entityErr = ["failed conditional validation given value of field 'algorithm'"];
  const pem = entity.rsa_public_key;
  if (typeof pem !== 'string') return { rsa_public_key: 'required field missing', '@entity': entityErr };
  try {
    createPublicKey(pem);
    return null;
  } catch {
    return { rsa_public_key: 'invalid key', '@entity': entityErr };
  }
}

export const jwt_secrets: EntityDef = {
  name: 'jwt_secrets',
  endpointKey: 'key',
  schema: jwtSecretsSchema as unknown as EntityDef['schema'],
  check: checkPublicKey,
  columns: { id: 'uuid', created_at: 'ts', consumer: 'fk', key: 'text', secret: 'text', algorithm: 'text', rsa_public_key: 'text', tags: 'text[]' },
  foreign: { consumer: 'consumers' },
  uniques: { jwt_secrets_key_unique: ['key'] },
  cascade: [],
  restrict: [],
  cascadeWith: ['consumer'],
  naturalKey: (e) => String(e.key ?? ''),
  cacheKeys: (e) => [`jwt_secrets:${e.key}`],
};

/** key → secret: the lookup on the request path. */
export const KEY_INDEX = 'jwt_secrets.key';
export const keyIndex: IndexDefinition = { name: KEY_INDEX, entity: 'jwt_secrets', kind: 'unique', key: (c: JwtSecret) => c.key };
