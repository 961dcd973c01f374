// The entity definitions by name: what src/db/ and src/admin/ are generic over.
import type { EntityName } from './types.ts';
import type { EntityDef } from './definition.ts';
import { services } from './services.ts';
import { routes } from './routes.ts';
import { consumers } from './consumers.ts';
import { plugins } from './plugins.ts';
import { upstreams } from './upstreams.ts';
import { targets } from './targets.ts';
import { keyauth_credentials } from '../plugins/key-auth/daos.ts';
import { basicauth_credentials } from '../plugins/basic-auth/daos.ts';
import { acls } from '../plugins/acl/daos.ts';

export const entities: Record<EntityName, EntityDef> = {
  services,
  routes,
  consumers,
  plugins,
  upstreams,
  targets,
  keyauth_credentials,
  basicauth_credentials,
  acls,
};

/** Order in which a snapshot lists (and a loader should insert) entities: parents first. */
export const ENTITY_ORDER: EntityName[] = ['services', 'routes', 'consumers', 'upstreams', 'targets', 'plugins', 'keyauth_credentials', 'basicauth_credentials', 'acls'];

export type { EntityDef } from './definition.ts';
export { validateEntity } from './definition.ts';
export * from './errors.ts';
