// The correlation-id package (Kong's PRIORITY 100001: before every other plugin).
import type { PluginPackage } from '../package.ts';
import { correlationIdSchema } from './schema.ts';

export const correlationId: PluginPackage = {
  name: 'correlation-id',
  priority: 100001,
  schema: correlationIdSchema as unknown as PluginPackage['schema'],
  handler: () => import('./handler.ts').then((m) => m.default),
};
