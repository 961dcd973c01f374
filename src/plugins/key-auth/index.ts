// The key-auth package: everything key-auth owns, as the registry reads it.
import type { PluginPackage } from '../package.ts';
import { api } from './api.ts';
import { keyauth_credentials, keyIndex } from './daos.ts';
import { migration as base } from './migrations/000_base.ts';
import { keyAuthSchema } from './schema.ts';

export const keyAuth: PluginPackage = {
  name: 'key-auth',
  priority: 1250,
  schema: keyAuthSchema as unknown as PluginPackage['schema'],
  handler: () => import('./handler.ts').then((m) => m.default),
  noConsumer: true,
  daos: [keyauth_credentials],
  api,
  indexes: [keyIndex],
  migrations: [base],
};
