// The request-termination package (Kong's PRIORITY 2: after every other access handler).
import type { PluginPackage } from '../package.ts';
import { requestTerminationSchema } from './schema.ts';

export const requestTermination: PluginPackage = {
  name: 'request-termination',
  priority: 2,
  schema: requestTerminationSchema as unknown as PluginPackage['schema'],
  handler: () => import('./handler.ts').then((m) => m.default),
};
