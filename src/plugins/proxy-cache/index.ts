// The proxy-cache package: a handler, its config schema, its memory store (in each proxy worker)
// and Kong's /proxy-cache Admin API (no entities).
import type { PluginPackage } from '../package.ts';
import { proxyCacheSchema } from './schema.ts';

export const proxyCache: PluginPackage = {
  name: 'proxy-cache',
  priority: 100,
  schema: proxyCacheSchema as unknown as PluginPackage['schema'],
  handler: () => import('./handler.ts').then((m) => m.default),
  node: () => import('./api.ts').then((m) => m.default),
  worker: () => import('./worker.ts').then((m) => m.default),
};
