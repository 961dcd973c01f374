// The request-transformer package: a handler and its config schema (it owns no entities).
import type { PluginPackage } from '../package.ts';
import { requestTransformerSchema } from './schema.ts';

export const requestTransformer: PluginPackage = {
  name: 'request-transformer',
  priority: 801,
  schema: requestTransformerSchema as unknown as PluginPackage['schema'],
  handler: () => import('./handler.ts').then((m) => m.default),
};
