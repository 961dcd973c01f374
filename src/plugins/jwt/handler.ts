// Kong's jwt (kong/plugins/jwt/handler.lua): the token from the query string, cookies or a
// Bearer header, its secret found by the `key_claim_name` claim, the signature checked with
// the credential's algorithm, then the registered claims. Failures answer with Kong's bodies
// (no request_id: Kong's jwt uses kong.response.exit, not kong.response.error).
import type { ProxyContext } from '../../proxy/context.ts';
import type { PluginHandler, PluginInstance } from '../types.ts';
import { setConsumerHeaders } from '../consumer-headers.ts';
import { authenticateAnonymous, findConsumer } from '../anonymous.ts';
import { firstRequestHeader, requestCookie } from '../request-headers.ts';
import type { JwtConfig } from './schema.ts';
import { KEY_INDEX, type JwtSecret } from './daos.ts';
import { base64UrlDecode, checkMaximumExpiration, decodeJwt, verifyRegisteredClaims, verifySignature } from './parser.ts';

const BEARER = /\s*[Bb]earer\s+(.+)/;

/** Several different tokens in one request (Kong: "Multiple tokens provided"). */
export const MANY_TOKENS = Symbol('many tokens');

/**
 * Kong's retrieve_tokens, as far as access uses it: the one distinct non-empty token the
 * request carries, null when it carries none, MANY_TOKENS when it carries different ones.
 */
export function retrieveToken(ctx: ProxyContext, conf: JwtConfig): string | null | typeof MANY_TOKENS {
  let found: string | null = null;
  if (conf.uri_param_names.length !== 0 && ctx.query !== '') {
    const params = new URLSearchParams(ctx.query);
    for (const name of conf.uri_param_names) {
      for (const v of params.getAll(name)) {
        if (v === '' || v === found) continue;
        if (found !== null) return MANY_TOKENS;
        found = v;
      }
    }
  }
  for (const name of conf.cookie_names) {
    const v = requestCookie(ctx, name);
    if (!v || v === found) continue;
    if (found !== null) return MANY_TOKENS;
    found = v;
  }
  for (const name of conf.header_names) {
    const h = firstRequestHeader(ctx, name);
    const m = h === undefined ? null : BEARER.exec(h);
    const v = m === null ? '' : m[1]!;
    if (v === '' || v === found) continue;
    if (found !== null) return MANY_TOKENS;
    found = v;
  }
  return found;
}

/** Why authentication failed: the status, the body Kong sends and its challenge (if any). */
interface Failure {
  status: number;
  body: Record<string, unknown>;
  challenge: string | null;
}

/** Lua's `claims[name] or header[name]`: false and absent fall through to the header. */
function absent(v: unknown): boolean {
  return v === undefined || v === null || v === false;
}

/** Tokens whose signature an instance remembers having verified (cleared whole when full). */
const VERIFIED_TOKENS = 1000;

const handler: PluginHandler<JwtConfig> = {
  create(conf, env): PluginInstance {
    const base = conf.realm !== null ? `Bearer realm="${conf.realm}"` : 'Bearer';
    const withError = conf.realm !== null ? `${base}, error="invalid_token"` : 'Bearer error="invalid_token"';
    const bySecretKey = env.store.index<JwtSecret>(KEY_INDEX);
    const claimName = conf.key_claim_name;
    const toVerify = conf.claims_to_verify ?? [];
    const unauthorized = (message: string, challenge = withError): Failure => ({ status: 401, body: { message }, challenge });
    const verified = new Map<string, { jwt: Exclude<ReturnType<typeof decodeJwt>, string>; secret: JwtSecret }>();

    /** Kong's do_authentication: null once the consumer is set, else the failure. */
    const authenticate = (ctx: ProxyContext): Failure | null => {
      const token = retrieveToken(ctx, conf);
      if (token === null) return unauthorized('Unauthorized', base);
      if (token === MANY_TOKENS) return unauthorized('Multiple tokens provided');
      const known = verified.get(token);
      const jwt = known?.jwt ?? decodeJwt(token);
      if (typeof jwt === 'string') return unauthorized(`Bad token; ${jwt}`);
      const key = absent(jwt.claims[claimName]) ? jwt.header[claimName] : jwt.claims[claimName];
      if (absent(key)) return unauthorized(`No mandatory '${claimName}' in claims`);
      if (key === '') return unauthorized(`Invalid '${claimName}' in claims`);
      const secret = typeof key === 'string' ? bySecretKey.get(key) : undefined;
      if (!secret) return unauthorized(`No credentials found for given '${claimName}'`);
      const algorithm = secret.algorithm ?? 'HS256';
      if (jwt.header.alg !== algorithm) return unauthorized('Invalid algorithm');
      // A token already verified against this very secret (the same row object: a changed secret
      // is a new one) is not verified again; its claims are, since they depend on the time.
      if (known?.secret !== secret) {
        let material: Buffer | string | null;
        if (algorithm.startsWith('HS')) material = conf.secret_is_base64 ? decodeSecret(secret.secret) : Buffer.from(secret.secret ?? '');
        else material = secret.rsa_public_key;
        if (material === null) return unauthorized('Invalid key/secret');
        if (!verifySignature(algorithm, jwt, material)) return unauthorized('Invalid signature');
        if (verified.size >= VERIFIED_TOKENS) verified.clear();
        verified.set(token, { jwt, secret });
      }
      if (toVerify.length !== 0) {
        const claimErrors = verifyRegisteredClaims(jwt.claims, toVerify);
        if (claimErrors) return { status: 401, body: claimErrors, challenge: withError };
      }
      if (conf.maximum_expiration > 0) {
        const expErrors = checkMaximumExpiration(jwt.claims, conf.maximum_expiration);
        if (expErrors) return { status: 401, body: expErrors, challenge: withError };
      }
      const consumer = env.store.get('consumers', secret.consumer.id);
      if (!consumer) return { status: 401, body: { message: `Could not find consumer for '${claimName}=${String(key)}'` }, challenge: null };
      ctx.consumer = consumer;
      ctx.credential = secret;
      setConsumerHeaders(ctx, consumer, secret.key, false);
      (ctx.shared ??= {}).authenticated_jwt_token = token;
      return null;
    };

    return {
      name: 'jwt',
      access(ctx: ProxyContext) {
        if (!conf.run_on_preflight && ctx.method === 'OPTIONS') return;
        if (conf.anonymous) {
          // Kong's logical OR: another auth plugin already authenticated the request.
          if (ctx.credential) return;
          if (authenticate(ctx) !== null) authenticateAnonymous(ctx, findConsumer(env.store, conf.anonymous), conf.anonymous);
          return;
        }
        const failed = authenticate(ctx);
        if (failed) ctx.exit(failed.status, failed.body, failed.challenge === null ? undefined : ['www-authenticate', failed.challenge]);
      },
    };
  },
};

/** secret_is_base64: Kong decodes the stored secret (either base64 alphabet here). */
function decodeSecret(secret: string | undefined): Buffer | null {
  if (!secret) return null;
  const standard = /^[A-Za-z0-9+/]*={0,2}$/.test(secret);
  return standard ? Buffer.from(secret, 'base64') : base64UrlDecode(secret);
}

export default handler;
