// Kong's form conventions: `paths[]=/a`, `paths=/a&paths=/b`, `paths[1]=/a`,
// `config.minute=5`, `service.id=...`; and coercion of the strings to the schema's types.
import { KongError } from '../entities/errors.ts';
import type { z } from 'zod';

const MAX_FIELDS = 1000;
const MAX_INDEX = 1000;
const MAX_PATH = 16;

type Tree = Record<string, unknown>;

function tokens(key: string): (string | number | null)[] | null {
  // a.b[]  → ['a', 'b', null];  a[2].c → ['a', 1, 'c']
  const out: (string | number | null)[] = [];
  for (const part of key.split('.')) {
    const m = /^([^[\]]*)((?:\[\d*\])*)$/.exec(part);
    if (!m || m[1] === '') return null;
    out.push(m[1]!);
    for (const b of m[2]!.match(/\[\d*\]/g) ?? []) {
      const inner = b.slice(1, -1);
      if (inner === '') out.push(null);
      else {
        const n = Number(inner);
        if (n < 1 || n > MAX_INDEX) return null;
        out.push(n - 1);
      }
    }
  }
  return out.length > MAX_PATH ? null : out;
}

function assign(root: Tree, key: string, value: string) {
  const path = tokens(key);
  if (!path) throw new KongError(400, { message: `invalid form field name: ${key.slice(0, 100)}` });
  let cur: Tree | unknown[] = root;
  for (let i = 0; i < path.length; i++) {
    const tok = path[i]!;
    const last = i === path.length - 1;
    const nextTok = path[i + 1];
    if (Array.isArray(cur)) {
      if (typeof tok !== 'number' && tok !== null) throw new KongError(400, { message: `invalid form field name: ${key.slice(0, 100)}` });
      const idx = tok === null ? cur.length : tok;
      if (last) cur[idx] = value;
      else {
        if (cur[idx] === undefined || typeof cur[idx] !== 'object') cur[idx] = nextTok === null || typeof nextTok === 'number' ? [] : {};
        cur = cur[idx] as Tree;
      }
      continue;
    }
    if (typeof tok !== 'string') throw new KongError(400, { message: `invalid form field name: ${key.slice(0, 100)}` });
    if (tok === '__proto__' || tok === 'constructor' || tok === 'prototype') throw new KongError(400, { message: `invalid form field name: ${key.slice(0, 100)}` });
    const obj = cur as Tree;
    if (last) {
      // A repeated plain key is an array (`paths=/a&paths=/b`).
      if (obj[tok] === undefined) obj[tok] = value;
      else if (Array.isArray(obj[tok])) (obj[tok] as unknown[]).push(value);
      else if (typeof obj[tok] === 'string') obj[tok] = [obj[tok], value];
      else throw new KongError(400, { message: `conflicting form fields for ${tok}` });
    } else {
      const want = nextTok === null || typeof nextTok === 'number' ? 'array' : 'object';
      const existing = obj[tok];
      if (existing === undefined) obj[tok] = want === 'array' ? [] : {};
      else if (typeof existing === 'string' && want === 'array') obj[tok] = [existing];
      else if (typeof existing !== 'object' || Array.isArray(existing) !== (want === 'array')) {
        throw new KongError(400, { message: `conflicting form fields for ${tok}` });
      }
      cur = obj[tok] as Tree;
    }
  }
}

function densify(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => x !== undefined).map(densify);
  if (v && typeof v === 'object') {
    const o = v as Tree;
    for (const k of Object.keys(o)) o[k] = densify(o[k]);
  }
  return v;
}

export function decodeForm(text: string): Tree {
  const params = new URLSearchParams(text);
  const root: Tree = Object.create(null);
  let n = 0;
  for (const [k, v] of params) {
    if (++n > MAX_FIELDS) throw new KongError(400, { message: `too many form fields (limit ${MAX_FIELDS})` });
    assign(root, k, v);
  }
  return densify({ ...root }) as Tree;
}

/** multipart/form-data with plain fields (curl -F); file parts are refused. */
export function decodeMultipart(raw: Buffer, boundary: string): Tree {
  const text = raw.toString('utf8');
  const root: Tree = Object.create(null);
  const parts = text.split(`--${boundary}`);
  let n = 0;
  for (const part of parts.slice(1)) {
    if (part.startsWith('--')) break;
    const sep = part.indexOf('\r\n\r\n');
    if (sep < 0) throw new KongError(400, { message: 'malformed multipart body' });
    const head = part.slice(0, sep);
    let value = part.slice(sep + 4);
    if (value.endsWith('\r\n')) value = value.slice(0, -2);
    const name = /name="([^"]*)"/i.exec(head)?.[1];
    if (!name) throw new KongError(400, { message: 'malformed multipart body: part without a name' });
    if (/filename=/i.test(head)) throw new KongError(400, { message: 'file uploads are not supported' });
    if (++n > MAX_FIELDS) throw new KongError(400, { message: `too many form fields (limit ${MAX_FIELDS})` });
    assign(root, name, value);
  }
  return densify({ ...root }) as Tree;
}

// ---- coercion to a zod schema's types (Kong's arguments.infer_value) ----

type Def = { type: string; [k: string]: unknown };
const defOf = (s: unknown): Def | undefined => (s as { def?: Def } | undefined)?.def;

/** Strip wrappers (optional, nullable, default, preprocess pipes) down to the value type. */
function unwrap(s: unknown, depth = 0): Def | undefined {
  const d = defOf(s);
  if (!d || depth > 20) return d;
  switch (d.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return unwrap(d.innerType, depth + 1);
    case 'pipe': {
      const inner = defOf(d.in);
      return unwrap(inner?.type === 'transform' ? d.out : d.in, depth + 1);
    }
    default:
      return d;
  }
}

export function coerce(schema: unknown, value: unknown, depth = 0): unknown {
  if (depth > 32) return value;
  const d = unwrap(schema);
  if (!d) return value;
  // Kong's infer_value: an empty form value means "unset".
  if (value === '') return null;
  switch (d.type) {
    case 'number':
    case 'int':
      if (typeof value === 'string' && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value.trim())) return Number(value);
      return value;
    case 'boolean':
      if (value === 'true') return true;
      if (value === 'false') return false;
      return value;
    case 'array': {
      const arr = Array.isArray(value) ? value : typeof value === 'string' ? [value] : value;
      return Array.isArray(arr) ? arr.map((x) => coerce(d.element, x, depth + 1)) : arr;
    }
    case 'object': {
      if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
      const shape = (d.shape ?? {}) as Record<string, unknown>;
      const out: Tree = {};
      for (const [k, v] of Object.entries(value as Tree)) out[k] = Object.hasOwn(shape, k) ? coerce(shape[k], v, depth + 1) : v;
      return out;
    }
    case 'record': {
      if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
      const out: Tree = {};
      for (const [k, v] of Object.entries(value as Tree)) out[k] = coerce(d.valueType, v, depth + 1);
      return out;
    }
    default:
      return value;
  }
}

export function coerceToSchema(schema: z.ZodType, body: Tree): Tree {
  return coerce(schema, body) as Tree;
}
