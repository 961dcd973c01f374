// The http-log package: a handler, its config schema and its drop counter (no entities).
import type { PluginPackage } from '../package.ts';
import { httpLogSchema } from './schema.ts';

export const httpLog: PluginPackage = {
  name: 'http-log',
  priority: 12,
  schema: httpLogSchema as unknown as PluginPackage['schema'],
  handler: () => import('./handler.ts').then((m) => m.default),
  preload: () => import('../log-metrics.ts'),
};
