// The `anonymous` fallback every Kong auth plugin shares: when authentication fails, the
// request goes on as the configured consumer (by id or username) with X-Anonymous-Consumer.
import type { Consumer } from '../entities/types.ts';
import type { ProxyContext } from '../proxy/context.ts';
import { setConsumerHeaders } from './consumer-headers.ts';
import type { PluginStore } from './types.ts';

/** The anonymous consumer named by a plugin's config, looked up in the node's cache. */
export function findConsumer(store: PluginStore, idOrUsername: string | null): Consumer | null {
  if (!idOrUsername) return null;
  const byId = store.get('consumers', idOrUsername);
  if (byId) return byId;
  for (const c of store.all('consumers')) if (c.username === idOrUsername) return c;
  return null;
}

/**
 * Kong answers 500 when the configured anonymous consumer does not exist: jwt and hmac-auth
 * name it (`configured`), key-auth and basic-auth give the generic message.
 */
export function authenticateAnonymous(ctx: ProxyContext, consumer: Consumer | null, configured?: string): void {
  if (!consumer) {
    const message = configured === undefined ? 'An unexpected error occurred' : `anonymous consumer ${configured} is configured but doesn't exist`;
    ctx.exit(500, { message, request_id: ctx.requestId });
    return;
  }
  ctx.consumer = consumer;
  setConsumerHeaders(ctx, consumer, null, true);
}
