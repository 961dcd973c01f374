// Kong's hmac-auth signature (kong/plugins/hmac-auth/access.lua): the Authorization header's
// fields, the signing string built from the listed headers, and the HMAC over it. Pure
// functions, shared by the handler and the unit tests.
import { createHash, createHmac } from 'node:crypto';
import type { HmacAlgorithm } from './schema.ts';

export interface HmacParams {
  username: string;
  algorithm: string;
  headers: string[];
  signature: string;
}

const AUTH = /\s*[Hh]mac\s*username="(.+)",\s*algorithm="(.+)",\s*headers="(.+)",\s*signature="(.+)"/;

/** Kong's retrieve_hmac_fields: null when the header is absent or not in Kong's format. */
export function parseHmacAuthorization(header: string | undefined): HmacParams | null {
  if (header === undefined) return null;
  const m = AUTH.exec(header);
  if (!m) return null;
  return { username: m[1]!, algorithm: m[2]!, headers: m[3]!.split(' '), signature: m[4]! };
}

/** What the signing string needs of the request. */
export interface SigningRequest {
  method: string;
  /** Path with query, as the client sent it (Kong's get_path_with_query). */
  uri: string;
  httpVersion: string;
  header(name: string): string | undefined;
}

/** Kong's create_hash input: one line per listed header, "@request-target" and "request-line" built. */
export function signingString(headers: readonly string[], req: SigningRequest): string {
  return headers
    .map((name) => {
      const value = req.header(name);
      if (value !== undefined) return `${name}: ${value}`;
      if (name === '@request-target') return `${name}: ${req.method.toLowerCase()} ${req.uri}`;
      if (name === 'request-line') return `${req.method} ${req.uri} HTTP/${Number(req.httpVersion).toFixed(1)}`;
      return `${name}:`;
    })
    .join('\n');
}

const DIGESTS: Record<HmacAlgorithm, string> = { 'hmac-sha1': 'sha1', 'hmac-sha256': 'sha256', 'hmac-sha384': 'sha384', 'hmac-sha512': 'sha512' };

export function hmacSign(algorithm: HmacAlgorithm, secret: string, data: string): Buffer {
  return createHmac(DIGESTS[algorithm], secret).update(data).digest();
}

/** The Digest header Kong expects for a body: SHA-256=<base64>. */
export function bodyDigest(body: Buffer): string {
  return `SHA-256=${createHash('sha256').update(body).digest('base64')}`;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** ngx.decode_base64: null for text that is not base64. */
export function decodeBase64(s: string): Buffer | null {
  return BASE64.test(s) && s.length % 4 !== 1 ? Buffer.from(s, 'base64') : null;
}
