// Kong's basic-auth: credentials from Proxy-Authorization, then Authorization; the password
// is checked against Kong's stored hash, sha1(password .. consumer id).
import { timingSafeEqual } from 'node:crypto';
import { hashBasicAuthPassword } from './crypto.ts';
import { USERNAME_INDEX, type BasicAuthCredential } from './daos.ts';
import type { ProxyContext } from '../../proxy/context.ts';
import type { PluginHandler, PluginInstance } from '../types.ts';
import { setConsumerHeaders } from '../consumer-headers.ts';
import { authenticateAnonymous, findConsumer } from '../anonymous.ts';
import type { BasicAuthConfig } from './schema.ts';

const BASIC = /^\s*[Bb]asic\s*(.+)/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** username and password of one header, or null when it holds no usable Basic credentials. */
export function parseBasic(header: string | undefined): { username: string; password: string } | null {
  if (header === undefined) return null;
  const m = BASIC.exec(header);
  if (!m) return null;
  const encoded = m[1]!.trim();
  if (!BASE64.test(encoded)) return null;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  // Kong's ([^:]+):(.*): a username is required, the password may be empty or hold colons.
  if (colon <= 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function passwordMatches(cred: BasicAuthCredential, given: string): boolean {
  const want = Buffer.from(cred.password);
  const got = Buffer.from(hashBasicAuthPassword(cred.consumer.id, given));
  return want.length === got.length && timingSafeEqual(want, got);
}

const handler: PluginHandler<BasicAuthConfig> = {
  create(conf, env): PluginInstance {
    const challenge = ['www-authenticate', `Basic realm="${conf.realm}"`];
    const byUsername = env.store.index<BasicAuthCredential>(USERNAME_INDEX);
    const lookup = (header: string): { cred: BasicAuthCredential; password: string } | null | undefined => {
      const parsed = parseBasic(header);
      if (!parsed) return null;
      const cred = byUsername.get(parsed.username);
      return cred ? { cred, password: parsed.password } : undefined;
    };
    const fail = (ctx: ProxyContext, message: string): void => {
      if (conf.anonymous) return authenticateAnonymous(ctx, findConsumer(env.store, conf.anonymous));
      ctx.exit(401, { message, request_id: ctx.requestId }, challenge);
    };
    return {
      name: 'basic-auth',
      access(ctx: ProxyContext) {
        // Another auth plugin already authenticated and this one is only a fallback.
        if (conf.anonymous && ctx.credential) return;
        const proxyAuth = ctx.getRequestHeader('proxy-authorization');
        const auth = ctx.getRequestHeader('authorization');
        if (proxyAuth === undefined && auth === undefined) return fail(ctx, 'Unauthorized');
        if (conf.hide_credentials) {
          // Kong clears a header once it has been read, whether or not it authenticated.
          if (proxyAuth !== undefined) ctx.removeRequestHeader('proxy-authorization');
          if (auth !== undefined) ctx.removeRequestHeader('authorization');
        }
        let found = proxyAuth !== undefined ? lookup(proxyAuth) : null;
        if (!found) {
          const fromAuth = auth !== undefined ? lookup(auth) : null;
          if (fromAuth === null) return fail(ctx, 'Invalid authentication credentials');
          found = fromAuth;
        }
        if (!found || !passwordMatches(found.cred, found.password)) return fail(ctx, 'Invalid authentication credentials');
        const consumer = env.store.get('consumers', found.cred.consumer.id);
        if (!consumer) {
          env.logger.error({ credential: found.cred.id, consumer: found.cred.consumer.id }, 'basic-auth credential names a consumer not in the cache');
          ctx.exit(500, { message: 'An unexpected error occurred', request_id: ctx.requestId });
          return;
        }
        ctx.consumer = consumer;
        ctx.credential = found.cred;
        setConsumerHeaders(ctx, consumer, found.cred.username, false);
      },
    };
  },
};

export default handler;
