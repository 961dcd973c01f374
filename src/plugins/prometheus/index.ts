// The prometheus package: a handler, its config schema and its metric families (no entities).
import type { PluginPackage } from '../package.ts';
import { prometheusSchema } from './schema.ts';

export const prometheus: PluginPackage = {
  name: 'prometheus',
  priority: 13,
  schema: prometheusSchema as unknown as PluginPackage['schema'],
  handler: () => import('./handler.ts').then((m) => m.default),
  preload: () => import('./metrics.ts'),
};
