// The bot-detection package (Kong's PRIORITY 2500).
import type { PluginPackage } from '../package.ts';
import { botDetectionSchema } from './schema.ts';

export const botDetection: PluginPackage = {
  name: 'bot-detection',
  priority: 2500,
  schema: botDetectionSchema as unknown as PluginPackage['schema'],
  handler: () => import('./handler.ts').then((m) => m.default),
  noConsumer: true,
};
