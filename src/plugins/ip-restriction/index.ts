// The ip-restriction package: a handler and its config schema (it owns no entities).
import type { PluginPackage } from '../package.ts';
import { ipRestrictionSchema } from './schema.ts';

export const ipRestriction: PluginPackage = {
  name: 'ip-restriction',
  priority: 990,
  schema: ipRestrictionSchema as unknown as PluginPackage['schema'],
  handler: () => import('./handler.ts').then((m) => m.default),
};
