// Kong's jwt_parser.lua: split a token into header, claims and signature, verify the signature
// with node:crypto for each algorithm Kong accepts, and check the registered claims. Pure
// functions: the handler and the unit tests share them.
import { constants, createHmac, createPublicKey, sign as signRaw, timingSafeEqual, verify as verifySig, type KeyObject } from 'node:crypto';
import type { JwtAlgorithm } from './daos.ts';

export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signature: Buffer;
  /** `<header_64>.<claims_64>`: what the signature covers. */
  signingInput: string;
}

const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** Kong's base64_decode: base64url, padding optional; null when it is not base64url. */
export function base64UrlDecode(s: string | undefined): Buffer | null {
  if (s === undefined || !B64URL.test(s) || s.replace(/=+$/, '').length % 4 === 1) return null;
  return Buffer.from(s, 'base64url');
}

const SUPPORTED = new Set<string>(['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'EdDSA']);

function json(b: Buffer | null): unknown {
  if (b === null) throw new Error('not base64url');
  return JSON.parse(b.toString('utf8'));
}

/** Kong's decode_token: the parsed token, or Kong's error string ("invalid JSON", "invalid alg"). */
export function decodeJwt(token: string): DecodedJwt | string {
  // Kong's tokenize(token, ".", 3): the third part keeps any further dots.
  const first = token.indexOf('.');
  const second = first === -1 ? -1 : token.indexOf('.', first + 1);
  if (second === -1) return 'invalid JSON';
  const header64 = token.slice(0, first);
  const claims64 = token.slice(first + 1, second);
  let header: unknown;
  let claims: unknown;
  try {
    header = json(base64UrlDecode(header64));
    claims = json(base64UrlDecode(claims64));
  } catch {
    return 'invalid JSON';
  }
  const alg = header !== null && typeof header === 'object' ? (header as Record<string, unknown>).alg : undefined;
  if (typeof alg !== 'string' || !SUPPORTED.has(alg)) return 'invalid alg';
  if (claims === null || typeof claims !== 'object') return 'invalid claims';
  const signature = base64UrlDecode(token.slice(second + 1));
  if (signature === null) return 'invalid signature';
  return { header: header as Record<string, unknown>, claims: claims as Record<string, unknown>, signature, signingInput: `${header64}.${claims64}` };
}

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };
/** RFC 7518 3.4: an ECDSA signature is R||S, 64, 96 or 132 bytes. */
const EC_SIG_LENGTH: Record<string, number> = { ES256: 64, ES384: 96, ES512: 132 };

/** Public keys parsed once per PEM text (a credential's key is checked on every request). */
const keys = new Map<string, KeyObject>();
function publicKey(pem: string): KeyObject {
  let k = keys.get(pem);
  if (k === undefined) {
    k = createPublicKey(pem);
    if (keys.size > 10_000) keys.clear();
    keys.set(pem, k);
  }
  return k;
}

/**
 * Kong's verify_signature with `alg` (the credential's algorithm, equal to the token's): `key`
 * is the HMAC secret (bytes) for HS*, the PEM public key otherwise. A key that does not parse or
 * an ECDSA/PSS signature of the wrong length fails verification.
 */
export function verifySignature(alg: JwtAlgorithm, jwt: DecodedJwt, key: Buffer | string): boolean {
  const data = Buffer.from(jwt.signingInput);
  const sig = jwt.signature;
  const hash = HASH[alg.slice(2)];
  try {
    switch (alg.slice(0, 2)) {
      case 'HS': {
        const want = createHmac(hash!, key).update(data).digest();
        return want.length === sig.length && timingSafeEqual(want, sig);
      }
      case 'RS':
        return verifySig(hash!, data, publicKey(String(key)), sig);
      case 'ES':
        if (sig.length !== EC_SIG_LENGTH[alg]) return false;
        return verifySig(hash!, data, { key: publicKey(String(key)), dsaEncoding: 'ieee-p1363' }, sig);
      case 'PS':
        // Kong asserts 256 bytes: PS* keys are 2048-bit RSA keys.
        if (sig.length !== 256) return false;
        return verifySig(hash!, data, { key: publicKey(String(key)), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, sig);
      default:
        return verifySig(null, data, publicKey(String(key)), sig);
    }
  } catch {
    return false;
  }
}

/** Kong's errors object: a claim name → its message, or its messages when several. */
export type ClaimErrors = Record<string, string | string[]>;

/** Kong's verify_registered_claims: null when every claim in `toVerify` passes. */
export function verifyRegisteredClaims(claims: Record<string, unknown>, toVerify: readonly string[], now = Math.floor(Date.now() / 1000)): ClaimErrors | null {
  // Most configurations verify no claim: no errors object, no work, on every request.
  if (toVerify.length === 0) return null;
  const errors: ClaimErrors = {};
  for (const name of toVerify) {
    const v = claims[name];
    if (typeof v !== 'number') addClaimError(errors, name, 'must be a number');
    else if (name === 'nbf' && v > now) addClaimError(errors, name, 'token not valid yet');
    else if (name === 'exp' && v <= now) addClaimError(errors, name, 'token expired');
  }
  return Object.keys(errors).length === 0 ? null : errors;
}

function addClaimError(errors: ClaimErrors, k: string, msg: string): void {
  const prev = errors[k];
  errors[k] = prev === undefined ? msg : Array.isArray(prev) ? [...prev, msg] : [prev, msg];
}

/** Kong's check_maximum_expiration. */
export function checkMaximumExpiration(claims: Record<string, unknown>, maximum: number, now = Math.floor(Date.now() / 1000)): ClaimErrors | null {
  if (maximum <= 0) return null;
  const exp = claims.exp;
  if (typeof exp !== 'number' || exp - now > maximum) return { exp: 'exceeds maximum allowed expiration' };
  return null;
}

/** Sign a token the way Kong's jwt_parser.encode does (tests, and users' tooling). */
export function encodeJwt(claims: Record<string, unknown>, key: Buffer | string | KeyObject, alg: JwtAlgorithm = 'HS256', header: Record<string, unknown> = { typ: 'JWT', alg }): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const hash = HASH[alg.slice(2)];
  const data = Buffer.from(input);
  let sig: Buffer;
  switch (alg.slice(0, 2)) {
    case 'HS':
      sig = createHmac(hash!, key as Buffer | string).update(data).digest();
      break;
    case 'ES':
      sig = signWith(hash!, data, { key, dsaEncoding: 'ieee-p1363' });
      break;
    case 'PS':
      sig = signWith(hash!, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
      break;
    case 'RS':
      sig = signWith(hash!, data, { key });
      break;
    default:
      sig = signWith(null, data, { key });
  }
  return `${input}.${sig.toString('base64url')}`;
}

function signWith(hash: string | null, data: Buffer, key: Record<string, unknown>): Buffer {
  return signRaw(hash, data, key as never);
}
