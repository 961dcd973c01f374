// The proxy-cache package: a handler, its config schema and its memory store (no entities).
import type { PluginPackage } from '../package.ts';
import { proxyCacheSchema } from './schema.ts';

export const proxyCache: PluginPackage = {
  name: 'proxy-cache',
  priority: 100,
  schema: proxyCacheSchema as unknown as PluginPackage['schema'],
  handler: () => import('./handler.ts').then((m) => m.default),
};
