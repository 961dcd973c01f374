// The file-log package: a handler and its config schema (it owns no entities).
import type { PluginPackage } from '../package.ts';
import { fileLogSchema } from './schema.ts';

export const fileLog: PluginPackage = {
  name: 'file-log',
  priority: 9,
  schema: fileLogSchema as unknown as PluginPackage['schema'],
  handler: () => import('./handler.ts').then((m) => m.default),
};
