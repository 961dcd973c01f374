// Kong's key-auth: the key comes from a header, the query string or (key_in_body) a field of
// the request body, which the proxy reads whole before access only when the key is in neither
// of the others (see needsBody): requests carrying it in a header keep streaming.
import type { ProxyContext } from '../../proxy/context.ts';
import type { PluginHandler, PluginInstance } from '../types.ts';
import { setConsumerHeaders } from '../consumer-headers.ts';
import { authenticateAnonymous, findConsumer } from '../anonymous.ts';
import type { KeyAuthConfig } from './schema.ts';
import { keyFromBody, UnreadableBody, type BodyKey } from './body.ts';
import { KEY_INDEX, type KeyAuthCredential } from './daos.ts';

interface Found {
  key: string;
  where: 'header' | 'query';
  keyName: string;
  params: URLSearchParams | null;
}

const handler: PluginHandler<KeyAuthConfig> = {
  create(conf, env): PluginInstance {
    const names = conf.key_names.map((n) => n.toLowerCase());
    const realm = conf.realm ?? 'gossamer';
    const challenge = ['www-authenticate', `Key realm="${realm}"`];
    const byKey = env.store.index<KeyAuthCredential>(KEY_INDEX);
    const anonymousConsumer = () => findConsumer(env.store, conf.anonymous);
    /** The key from a header or the query string, whichever the config allows. */
    const inRequest = (ctx: ProxyContext): Found | null => {
      if (conf.key_in_header) {
        for (const n of names) {
          const v = ctx.req.headers[n];
          if (v !== undefined) return { key: (Array.isArray(v) ? v[0] : v)!, where: 'header', keyName: n, params: null };
        }
      }
      if (conf.key_in_query && ctx.query) {
        const params = new URLSearchParams(ctx.query);
        for (const n of conf.key_names) {
          const v = params.get(n);
          if (v !== null) return { key: v, where: 'query', keyName: n, params };
        }
      }
      return null;
    };
    const skip = (ctx: ProxyContext) => (!conf.run_on_preflight && ctx.method === 'OPTIONS') || (Boolean(conf.anonymous) && ctx.credential !== null);
    return {
      name: 'key-auth',
      needsBody: conf.key_in_body ? (ctx) => !skip(ctx) && inRequest(ctx) === null : undefined,
      access(ctx: ProxyContext) {
        // A preflight let through, or another auth plugin already authenticated and this
        // one is only a fallback.
        if (skip(ctx)) return;
        const found = inRequest(ctx);
        let key = found?.key;
        let where: 'header' | 'query' | 'body' | null = found?.where ?? null;
        const keyName = found?.keyName ?? '';
        const params = found?.params ?? null;
        let inBody: BodyKey | null = null;
        if (key === undefined && conf.key_in_body && ctx.requestBody !== null && ctx.requestBody.length !== 0) {
          try {
            inBody = keyFromBody(ctx.requestBody, ctx.getRequestHeader('content-type'), conf.key_names);
          } catch (err) {
            if (!(err instanceof UnreadableBody)) throw err;
            env.logger.debug({ err: err.message, route: ctx.route?.id }, 'key-auth cannot process request body');
            ctx.exit(400, { message: 'Cannot process request body', request_id: ctx.requestId });
            return;
          }
          if (inBody) {
            key = inBody.key;
            where = 'body';
          }
        }
        if (key === undefined || key === '') {
          if (conf.anonymous) return authenticateAnonymous(ctx, anonymousConsumer());
          ctx.exit(401, { message: 'No API key found in request', request_id: ctx.requestId }, challenge);
          return;
        }
        const cred = byKey.get(key);
        const expired = cred?.ttl ? cred.created_at + cred.ttl < Date.now() / 1000 : false;
        const consumer = cred && !expired ? env.store.get('consumers', cred.consumer.id) : undefined;
        if (!cred || !consumer) {
          if (conf.anonymous) return authenticateAnonymous(ctx, anonymousConsumer());
          ctx.exit(401, { message: 'Invalid authentication credentials', request_id: ctx.requestId }, challenge);
          return;
        }
        if (conf.hide_credentials) {
          if (where === 'header') ctx.removeRequestHeader(keyName);
          else if (where === 'body') {
            const body = inBody!.without();
            ctx.requestBody = body;
            ctx.setRequestHeader('content-length', String(body.length));
          } else if (params) {
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

export default handler;
