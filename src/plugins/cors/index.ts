// The cors package: a handler and its config schema (it owns no entities).
import type { PluginPackage } from '../package.ts';
import { corsSchema } from './schema.ts';

export const cors: PluginPackage = {
  name: 'cors',
  priority: 2000,
  schema: corsSchema as unknown as PluginPackage['schema'],
  handler: () => import('./handler.ts').then((m) => m.default),
};
