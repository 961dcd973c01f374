// The response-ratelimiting package: a handler and its config schema (no entities).
import type { PluginPackage } from '../package.ts';
import { responseRateLimitingSchema } from './schema.ts';

export const responseRateLimiting: PluginPackage = {
  name: 'response-ratelimiting',
  priority: 900,
  schema: responseRateLimitingSchema as unknown as PluginPackage['schema'],
  handler: () => import('./handler.ts').then((m) => m.default),
};
