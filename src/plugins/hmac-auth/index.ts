// The hmac-auth package: everything hmac-auth owns, as the registry reads it.
import type { PluginPackage } from '../package.ts';
import { api } from './api.ts';
import { hmacauth_credentials, usernameIndex } from './daos.ts';
import { migration as base } from './migrations/000_base.ts';
import { hmacAuthSchema } from './schema.ts';

export const hmacAuth: PluginPackage = {
  name: 'hmac-auth',
  priority: 1030,
  schema: hmacAuthSchema as unknown as PluginPackage['schema'],
  handler: () => import('./handler.ts').then((m) => m.default),
  noConsumer: true,
  daos: [hmacauth_credentials],
  api,
  indexes: [usernameIndex],
  migrations: [base],
};
