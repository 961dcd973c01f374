// The acl package: everything acl owns, as the registry reads it.
import type { PluginPackage } from '../package.ts';
import { api } from './api.ts';
import { acls, consumerIndex } from './daos.ts';
import { migration as base } from './migrations/000_base.ts';
import { aclSchema } from './schema.ts';

export const acl: PluginPackage = {
  name: 'acl',
  priority: 950,
  schema: aclSchema as unknown as PluginPackage['schema'],
  handler: () => import('./handler.ts').then((m) => m.default),
  noConsumer: true,
  daos: [acls],
  api,
  indexes: [consumerIndex],
  migrations: [base],
};
