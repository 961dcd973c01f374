// The response-transformer package: a handler and its config schema (it owns no entities).
import type { PluginPackage } from '../package.ts';
import { responseTransformerSchema } from './schema.ts';

export const responseTransformer: PluginPackage = {
  name: 'response-transformer',
  priority: 800,
  schema: responseTransformerSchema as unknown as PluginPackage['schema'],
  handler: () => import('./handler.ts').then((m) => m.default),
};
