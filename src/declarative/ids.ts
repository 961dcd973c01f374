// Ids Kong 3 gives entities a declarative file leaves without one (kong/db/schema/others/
// declarative_config.lua generate_uuid): a UUID v5 in a namespace per entity kind, itself a v5
// of the kind's name in Kong's fixed namespace. Named by their unique endpoint key (a service's
// name, a consumer's username), as Kong names them; Kong names the others by their cache key,
// which holds its workspace id, and here they are named by what makes them unique (a plugin's
// name and scope) or by their place in the file. Either way, every node loading the same file
// gets the same ids, so the same config_hash.
import { createHash } from 'node:crypto';

const KONG_ENTITIES_NAMESPACE = 'fd02801f-0957-4a15-a55a-c8d9606f30b5';

export function uuidV5(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const h = createHash('sha1').update(ns).update(name, 'utf8').digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const namespaces = new Map<string, string>();

/** Kong's id for an entity of kind `entity` whose key is `key`. */
export function declarativeId(entity: string, key: string): string {
  let ns = namespaces.get(entity);
  if (!ns) {
    ns = uuidV5(KONG_ENTITIES_NAMESPACE, entity);
    namespaces.set(entity, ns);
  }
  return uuidV5(ns, key);
}
