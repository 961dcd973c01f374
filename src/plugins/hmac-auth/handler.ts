// Kong's hmac-auth (kong/plugins/hmac-auth/access.lua): a Date or X-Date within clock_skew,
// the signature fields from Proxy-Authorization or else Authorization, the algorithm and the
// enforced headers checked, the HMAC of the signing string compared, and with
// validate_request_body the body's Digest. Failures are Kong's 401 bodies.
import { timingSafeEqual } from 'node:crypto';
import type { ProxyContext } from '../../proxy/context.ts';
import type { PluginHandler, PluginInstance } from '../types.ts';
import { setConsumerHeaders } from '../consumer-headers.ts';
import { authenticateAnonymous, findConsumer } from '../anonymous.ts';
import { firstRequestHeader } from '../request-headers.ts';
import { parseHttpDate } from './http-date.ts';
import type { HmacAlgorithm, HmacAuthConfig } from './schema.ts';
import { USERNAME_INDEX, type HmacAuthCredential } from './daos.ts';
import { bodyDigest, decodeBase64, hmacSign, parseHmacAuthorization, signingString, type HmacParams } from './signature.ts';

const NOT_VALID = 'HMAC signature cannot be verified';
const NOT_SAME = 'HMAC signature does not match';
const NO_DATE = 'HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication';

/** Kong's validate_clock_skew: the header is an HTTP date within `skew` seconds of now. */
function withinSkew(value: string | undefined, skew: number): boolean {
  const t = value === undefined ? null : parseHttpDate(value);
  return t !== null && Math.abs(Math.floor(Date.now() / 1000) - t) <= skew;
}

/** Kong's validate_params: null when the fields are usable, else why (logged at debug). */
function paramsError(p: HmacParams | null, conf: HmacAuthConfig): string | null {
  if (p === null) return 'username or signature missing';
  const missing = conf.enforce_headers.find((h) => !p.headers.includes(h));
  if (missing !== undefined) return 'enforced header not used for signature creation';
  if (!(conf.algorithms as string[]).includes(p.algorithm)) return `algorithm ${p.algorithm} not supported`;
  return null;
}

function signatureMatches(ctx: ProxyContext, p: HmacParams, secret: string): boolean {
  const data = signingString(p.headers, {
    method: ctx.method,
    uri: ctx.req.url ?? '/',
    httpVersion: ctx.req.httpVersion,
    header: (name) => firstRequestHeader(ctx, name),
  });
  const want = hmacSign(p.algorithm as HmacAlgorithm, secret, data);
  const got = decodeBase64(p.signature);
  return got !== null && got.length === want.length && timingSafeEqual(got, want);
}

/** Kong's validate_body: the Digest header matches the body, or there is neither. */
function bodyMatches(ctx: ProxyContext): boolean {
  const body = ctx.requestBody ?? Buffer.alloc(0);
  const digest = ctx.getRequestHeader('digest');
  if (digest === undefined) return body.length === 0;
  return digest === bodyDigest(body);
}

const handler: PluginHandler<HmacAuthConfig> = {
  create(conf, env): PluginInstance {
    const challenge = ['www-authenticate', conf.realm !== null ? `hmac realm="${conf.realm}"` : 'hmac'];
    const byUsername = env.store.index<HmacAuthCredential>(USERNAME_INDEX);

    /** Kong's do_authentication: null once the consumer is set, else the 401 message. */
    const authenticate = (ctx: ProxyContext): string | null => {
      const authorization = ctx.getRequestHeader('authorization');
      const proxyAuthorization = ctx.getRequestHeader('proxy-authorization');
      if (authorization === undefined && proxyAuthorization === undefined) return 'Unauthorized';
      if (!withinSkew(ctx.getRequestHeader('x-date'), conf.clock_skew) && !withinSkew(ctx.getRequestHeader('date'), conf.clock_skew)) return NO_DATE;
      let params = parseHmacAuthorization(proxyAuthorization);
      if (params === null) {
        params = parseHmacAuthorization(authorization);
        if (conf.hide_credentials) ctx.removeRequestHeader('authorization');
      } else if (conf.hide_credentials) ctx.removeRequestHeader('proxy-authorization');
      const invalid = paramsError(params, conf);
      if (invalid !== null) {
        env.logger.debug({ reason: invalid }, 'hmac-auth parameters refused');
        return NOT_VALID;
      }
      const cred = byUsername.get(params!.username);
      if (!cred) return NOT_VALID;
      if (!signatureMatches(ctx, params!, cred.secret ?? '')) return NOT_SAME;
      if (conf.validate_request_body && !bodyMatches(ctx)) return NOT_SAME;
      const consumer = env.store.get('consumers', cred.consumer.id);
      if (!consumer) return NOT_VALID;
      ctx.consumer = consumer;
      ctx.credential = cred;
      setConsumerHeaders(ctx, consumer, cred.username, false);
      return null;
    };

    return {
      name: 'hmac-auth',
      // validate_request_body digests the whole body: read it before access.
      needsBody: conf.validate_request_body ? (ctx) => !(conf.anonymous && ctx.credential) : undefined,
      access(ctx: ProxyContext) {
        if (conf.anonymous) {
          // Kong's logical OR: another auth plugin already authenticated the request.
          if (ctx.credential) return;
          if (authenticate(ctx) !== null) authenticateAnonymous(ctx, findConsumer(env.store, conf.anonymous), conf.anonymous);
          return;
        }
        const failed = authenticate(ctx);
        if (failed !== null) ctx.exit(401, { message: failed, request_id: ctx.requestId }, challenge);
      },
    };
  },
};

export default handler;
