// response-transformer's JSON body rewrite (Kong's body_transformer.lua): remove, rename,
// replace, add, append on the top-level keys of a JSON object, with json_types casting the
// configured values (string by default, number, boolean). A body that is not a JSON object is
// left as it came. gzip-encoded answers are inflated, rewritten and deflated again.
import { gunzipSync, gzipSync } from 'node:zlib';
import type { BodyTransform } from '../../proxy/context.ts';
import { splitPair } from '../request-transformer/pairs.ts';
import type { ResponseTransformerConfig } from './schema.ts';

type Value = string | number | boolean;
type Op = [name: string, value: Value];

/** Kong's json_value + cast_value; undefined drops the entry (no value, or not a number). */
function cast(value: string, type: string | undefined): Value | undefined {
  if (value === '') return undefined;
  if (type === 'number') {
    const n = Number(value);
    return value.trim() === '' || Number.isNaN(n) ? undefined : n;
  }
  if (type === 'boolean') return value === 'true';
  return value;
}

function ops(pairs: string[], types: string[]): Op[] {
  const out: Op[] = [];
  pairs.forEach((p, i) => {
    const [n, raw] = splitPair(p);
    const v = cast(raw, types[i]);
    if (v !== undefined) out.push([n, v]);
  });
  return out;
}

// Lua truthiness: only a missing key or false counts as absent (JSON null does not).
const present = (v: unknown): boolean => v !== undefined && v !== false;

/** Null when the configuration has no JSON body rewrite. */
export function jsonBodyTransform(conf: ResponseTransformerConfig): ((gzip: boolean) => BodyTransform) | null {
  const remove = conf.remove.json;
  const rename = conf.rename.json.map(splitPair);
  const replace = ops(conf.replace.json, conf.replace.json_types);
  const add = ops(conf.add.json, conf.add.json_types);
  const append = ops(conf.append.json, conf.append.json_types);
  if (conf.remove.json.length + conf.rename.json.length + conf.replace.json.length + conf.add.json.length + conf.append.json.length === 0) return null;

  const rewrite = (text: string): string | null => {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return null;
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return null;
    const o = body as Record<string, unknown>;
    for (const n of remove) delete o[n];
    for (const [from, to] of rename) {
      if (o[from] === undefined || to === '') continue;
      o[to] = o[from];
      delete o[from];
    }
    for (const [n, v] of replace) if (present(o[n])) o[n] = v;
    for (const [n, v] of add) if (!present(o[n])) o[n] = v;
    for (const [n, v] of append) {
      const cur = o[n];
      o[n] = typeof cur === 'string' ? [cur, v] : Array.isArray(cur) ? [...cur, v] : [v];
    }
    return JSON.stringify(o);
  };

  const plain: BodyTransform = (body) => {
    const out = rewrite(body.toString('utf8'));
    return out === null ? null : Buffer.from(out);
  };
  const gzipped: BodyTransform = (body) => {
    let text: string;
    try {
      text = gunzipSync(body).toString('utf8');
    } catch {
      return null;
    }
    const out = rewrite(text);
    return out === null ? null : gzipSync(out);
  };
  return (gzip) => (gzip ? gzipped : plain);
}

/** Kong's is_json_body: one of the listed media types is application/json. */
export function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  return value.split(',').some((t) => t.split(';')[0]!.trim().toLowerCase() === 'application/json');
}
