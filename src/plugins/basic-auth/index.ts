// The basic-auth package: everything basic-auth owns, as the registry reads it.
import type { PluginPackage } from '../package.ts';
import { api } from './api.ts';
import { basicauth_credentials, usernameIndex } from './daos.ts';
import { migration as base } from './migrations/000_base.ts';
import { basicAuthSchema } from './schema.ts';

export const basicAuth: PluginPackage = {
  name: 'basic-auth',
  priority: 1100,
  schema: basicAuthSchema as unknown as PluginPackage['schema'],
  handler: () => import('./handler.ts').then((m) => m.default),
  noConsumer: true,
  daos: [basicauth_credentials],
  api,
  indexes: [usernameIndex],
  migrations: [base],
};
