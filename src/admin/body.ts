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

function depthOf(v: unknown, limit: number): number {
  // Iterative so a hostile document cannot blow the stack here either.
  let max = 0;
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (d > max) max = d;
    if (max > limit) return max;
    if (x && typeof x === 'object') for (const c of Object.values(x)) stack.push([c, d + 1]);
  }
  return max;
}

export type BodyKind = 'json' | 'form' | 'none';

export function parseBody(raw: Buffer, contentType: string | undefined): { kind: BodyKind; body: Record<string, unknown> } {
  const ct = (contentType ?? '').toLowerCase();
  const text = raw.toString('utf8');
  if (raw.length === 0 || text.trim() === '') return { kind: 'none', body: {} };
  if (ct.startsWith('application/x-www-form-urlencoded')) return { kind: 'form', body: decodeForm(text) };
  if (ct.startsWith('multipart/form-data')) {
    const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType ?? '');
    const boundary = m?.[1] ?? m?.[2];
    if (!boundary) throw new KongError(400, { message: 'multipart body without a boundary' });
    return { kind: 'form', body: decodeMultipart(raw, boundary.trim()) };
  }
  if (ct && !ct.startsWith('application/json') && !ct.includes('+json')) {
    throw new KongError(415, { message: `Unsupported Content-Type: ${ct.split(';')[0]}; use application/json or application/x-www-form-urlencoded` });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw cannotParseJson();
  }
  if (depthOf(parsed, MAX_DEPTH) > MAX_DEPTH) throw cannotParseJson();
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw schemaViolation({ '@entity': ['expected an input table'] });
  }
  return { kind: 'json', body: parsed as Record<string, unknown> };
}
