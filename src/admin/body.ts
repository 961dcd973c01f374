// Request bodies as Kong's Admin API takes them: JSON, or form fields
// (application/x-www-form-urlencoded; multipart/form-data without files) decoded into a
// nested object. Limits keep a hostile client from costing more than a bounded amount.
import type { IncomingMessage } from 'node:http';
import { KongError, cannotParseJson, schemaViolation } from '../entities/errors.ts';
import { decodeForm, decodeMultipart } from './form.ts';

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** Deeper JSON than this is no entity; refusing it keeps every later walk bounded. */
export const MAX_DEPTH = 64;

export async function readRaw(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw new KongError(413, { message: `request body too large (limit ${limit} bytes)` });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      throw new KongError(413, { message: `request body too large (limit ${limit} bytes)` });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Depth of a parsed document, and the top-level field holding a `__proto__` key if any:
 * JSON.parse makes it an own property, but the first spread or assignment would turn it
 * into a prototype and hide it from validation. Iterative so a hostile document cannot blow
 * the stack here either.
 */
function inspect(v: unknown, limit: number): { depth: number; proto: string | null } {
  let max = 0;
  const stack: [unknown, number, string | null][] = [[v, 0, null]];
  while (stack.length) {
    const [x, d, top] = stack.pop()!;
    if (d > max) max = d;
    if (max > limit) return { depth: max, proto: null };
    if (x && typeof x === 'object') {
      for (const k of Object.keys(x)) {
        const field = top ?? k;
        if (k === '__proto__') return { depth: max, proto: field };
        stack.push([(x as Record<string, unknown>)[k], d + 1, field]);
      }
    }
  }
  return { depth: max, proto: null };
}

export type BodyKind = 'json' | 'form' | 'none';

export function parseBody(raw: Buffer, contentType: string | undefined): { kind: BodyKind; body: Record<string, unknown> } {
  const ct = (contentType ?? '').toLowerCase();
  const text = raw.toString('utf8');
  const json = ct.startsWith('application/json') || ct.includes('+json');
  // Kong: a JSON request must carry a JSON document; a body must say what it is.
  if (raw.length === 0 || text.trim() === '') {
    if (json) throw cannotParseJson();
    return { kind: 'none', body: {} };
  }
  if (!ct) throw new KongError(415, { message: 'Unsupported Content-Type: none; use application/json or application/x-www-form-urlencoded' });
  if (ct.startsWith('application/x-www-form-urlencoded')) return { kind: 'form', body: decodeForm(text) };
  if (ct.startsWith('multipart/form-data')) {
    const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType ?? '');
    const boundary = m?.[1] ?? m?.[2];
    if (!boundary) throw new KongError(400, { message: 'multipart body without a boundary' });
    return { kind: 'form', body: decodeMultipart(raw, boundary.trim()) };
  }
  if (!json) {
    throw new KongError(415, { message: `Unsupported Content-Type: ${ct.split(';')[0]}; use application/json or application/x-www-form-urlencoded` });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw cannotParseJson();
  }
  const seen = inspect(parsed, MAX_DEPTH);
  if (seen.depth > MAX_DEPTH) throw cannotParseJson();
  if (seen.proto !== null) throw schemaViolation({ [seen.proto]: 'unknown field' });
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw schemaViolation({ '@entity': ['expected an input table'] });
  }
  return { kind: 'json', body: parsed as Record<string, unknown> };
}
