// The rate-limiting package: a handler and its config schema (it owns no entities).
import type { PluginPackage } from '../package.ts';
import { rateLimitingSchema } from './schema.ts';

export const rateLimiting: PluginPackage = {
  name: 'rate-limiting',
  priority: 910,
  schema: rateLimitingSchema as unknown as PluginPackage['schema'],
  handler: () => import('./handler.ts').then((m) => m.default),
};
