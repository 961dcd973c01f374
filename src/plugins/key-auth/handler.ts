// Kong's key-auth: the key comes from a header or the query string (key_in_body needs a
// buffered body, which the streaming proxy does not do: such keys are not looked for).
import type { Consumer } from '../../entities/types.ts';
import type { ProxyContext } from '../../proxy/context.ts';
import type { PluginHandler, PluginInstance } from '../types.ts';
import { setConsumerHeaders } from '../consumer-headers.ts';
import type { KeyAuthConfig } from './schema.ts';

const handler: PluginHandler<KeyAuthConfig> = {
  create(conf, env): PluginInstance {
    const names = conf.key_names.map((n) => n.toLowerCase());
    const realm = conf.realm ?? 'gossamer';
    const challenge = ['www-authenticate', `Key realm="${realm}"`];
    const anonymousConsumer = (): Consumer | null => {
      if (!conf.anonymous) return null;
      const byId = env.store.get('consumers', conf.anonymous);
      if (byId) return byId;
      for (const c of env.store.all('consumers')) if (c.username === conf.anonymous) return c;
      return null;
    };
    return {
      name: 'key-auth',
      access(ctx: ProxyContext) {
        if (!conf.run_on_preflight && ctx.method === 'OPTIONS') return;
        // Another auth plugin already authenticated and this one is only a fallback.
        if (conf.anonymous && ctx.credential) return;
        let key: string | undefined;
        let where: 'header' | 'query' | null = null;
        let keyName = '';
        if (conf.key_in_header) {
          for (const n of names) {
            const v = ctx.req.headers[n];
            if (v !== undefined) {
              key = Array.isArray(v) ? v[0] : v;
              where = 'header';
              keyName = n;
              break;
            }
          }
        }
        let params: URLSearchParams | null = null;
        if (key === undefined && conf.key_in_query && ctx.query) {
          params = new URLSearchParams(ctx.query);
          for (const n of conf.key_names) {
            const v = params.get(n);
            if (v !== null) {
              key = v;
              where = 'query';
              keyName = n;
              break;
            }
          }
        }
        if (key === undefined || key === '') {
          if (conf.anonymous) return authenticateAnonymous(ctx, anonymousConsumer());
          ctx.exit(401, { message: 'No API key found in request', request_id: ctx.requestId }, challenge);
          return;
        }
        const cred = env.store.keyauthByKey.get(key);
        const expired = cred?.ttl ? cred.created_at + cred.ttl < Date.now() / 1000 : false;
        const consumer = cred && !expired ? env.store.get('consumers', cred.consumer.id) : undefined;
        if (!cred || !consumer) {
          if (conf.anonymous) return authenticateAnonymous(ctx, anonymousConsumer());
          ctx.exit(401, { message: 'Invalid authentication credentials', request_id: ctx.requestId }, challenge);
          return;
        }
        if (conf.hide_credentials) {
          if (where === 'header') ctx.removeRequestHeader(keyName);
          else if (params) {
            params.delete(keyName);
            ctx.query = params.toString();
          }
        }
        ctx.consumer = consumer;
        ctx.credential = cred;
        setConsumerHeaders(ctx, consumer, cred.id, false);
      },
    };
  },
};

function authenticateAnonymous(ctx: ProxyContext, consumer: Consumer | null): void {
  if (!consumer) {
    ctx.exit(500, { message: 'An unexpected error occurred', request_id: ctx.requestId });
    return;
  }
  ctx.consumer = consumer;
  setConsumerHeaders(ctx, consumer, null, true);
}

export default handler;
