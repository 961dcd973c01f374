// The jwt package: everything jwt owns, as the registry reads it.
import type { PluginPackage } from '../package.ts';
import { api } from './api.ts';
import { jwt_secrets, keyIndex } from './daos.ts';
import { migration as base } from './migrations/000_base.ts';
import { jwtSchema } from './schema.ts';

export const jwt: PluginPackage = {
  name: 'jwt',
  priority: 1450,
  schema: jwtSchema as unknown as PluginPackage['schema'],
  handler: () => import('./handler.ts').then((m) => m.default),
  noConsumer: true,
  daos: [jwt_secrets],
  api,
  indexes: [keyIndex],
  migrations: [base],
};
