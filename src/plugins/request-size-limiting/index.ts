// The request-size-limiting package: a handler and its config schema (it owns no entities).
import type { PluginPackage } from '../package.ts';
import { requestSizeLimitingSchema } from './schema.ts';

export const requestSizeLimiting: PluginPackage = {
  name: 'request-size-limiting',
  priority: 951,
  schema: requestSizeLimitingSchema as unknown as PluginPackage['schema'],
  handler: () => import('./handler.ts').then((m) => m.default),
};
