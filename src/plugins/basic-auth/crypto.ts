// kong/plugins/basic-auth/crypto.lua: the consumer id salts the password, sha1 in hex, so a
// Kong database's hashes verify here. Used on write (daos.ts) and on every request (handler.ts).
import { createHash } from 'node:crypto';

export function hashBasicAuthPassword(consumerId: string, password: string): string {
  return createHash('sha1').update(password).update(consumerId).digest('hex');
}
