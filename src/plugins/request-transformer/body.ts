// request-transformer's body rewrites (Kong's transform_body): JSON objects,
// application/x-www-form-urlencoded and multipart/form-data, in Kong's order remove, rename,
// replace, add, append. remove/rename/replace only act on a non-empty body; add and append
// also fill an empty one. Other content types pass untouched (and keep streaming).
import type { BodyTransform } from '../../proxy/context.ts';
import { boundaryOf, parseMultipart, renamePart, serializeMultipart, simplePart } from '../multipart.ts';
import { splitPair } from './pairs.ts';
import { compileTemplate, render, type Tpl } from './template.ts';
import type { RequestTransformerConfig } from './schema.ts';

type Pair = [string, Tpl];
const pair = (s: string): Pair => {
  const [k, v] = splitPair(s);
  return [k, compileTemplate(v)];
};

interface BodyOps {
  remove: string[];
  rename: [string, string][];
  replace: Pair[];
  add: Pair[];
  append: Pair[];
}

/** Kong's append_value: a string becomes a list, a list grows, anything else starts one. */
function appended(current: unknown, value: string): unknown[] {
  if (typeof current === 'string') return [current, value];
  if (Array.isArray(current)) return [...current, value];
  return [value];
}

function jsonBody(ops: BodyOps): BodyTransform {
  return (body, ctx) => {
    let params: Record<string, unknown> = {};
    if (body.length !== 0) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        return null;
      }
      // Truthiness as in Kong's Lua: only a missing key or false counts as absent (null does not).
      // Kong edits JSON objects by key; arrays and scalars have no keys to edit.
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
      params = parsed as Record<string, unknown>;
      for (const n of ops.remove) delete params[n];
      for (const [from, to] of ops.rename) {
        if (!(from in params)) continue;
        params[to] = params[from];
        delete params[from];
      }
      for (const [n, v] of ops.replace) if (params[n] !== undefined && params[n] !== false) params[n] = render(v, ctx);
    }
    for (const [n, v] of ops.add) if (params[n] === undefined || params[n] === false) params[n] = render(v, ctx);
    for (const [n, v] of ops.append) params[n] = appended(params[n], render(v, ctx));
    return Buffer.from(JSON.stringify(params));
  };
}

function formBody(ops: BodyOps): BodyTransform {
  return (body, ctx) => {
    const p = new URLSearchParams(body.toString('latin1'));
    if (body.length !== 0) {
      for (const n of ops.remove) p.delete(n);
      for (const [from, to] of ops.rename) {
        const vals = p.getAll(from);
        if (!vals.length) continue;
        p.delete(from);
        for (const v of vals) p.append(to, v);
      }
      for (const [n, v] of ops.replace) if (p.has(n)) p.set(n, render(v, ctx));
    }
    for (const [n, v] of ops.add) if (!p.has(n)) p.set(n, render(v, ctx));
    for (const [n, v] of ops.append) p.append(n, render(v, ctx));
    // Kong encodes the arguments sorted by name.
    p.sort();
    return Buffer.from(p.toString());
  };
}

/** Kong's multipart transform: rename, remove, replace, add (it has no append for multipart). */
function multipartBody(ops: BodyOps, boundary: string): BodyTransform {
  return (body, ctx) => {
    let parts = parseMultipart(body, boundary);
    if (parts === null) return null;
    if (body.length !== 0) {
      for (const [from, to] of ops.rename) parts = parts.map((p) => (p.name === from ? renamePart(p, to) : p));
      for (const n of ops.remove) parts = parts.filter((p) => p.name !== n);
      for (const [n, v] of ops.replace) if (parts.some((p) => p.name === n)) parts = [...parts.filter((p) => p.name !== n), simplePart(n, render(v, ctx))];
    }
    for (const [n, v] of ops.add) if (!parts.some((p) => p.name === n)) parts.push(simplePart(n, render(v, ctx)));
    return serializeMultipart(parts, boundary);
  };
}

/**
 * The body rewrite for a request of `contentType`, or null when none applies; null as a
 * whole when the plugin configures no body rewrite at all.
 */
export function requestBodyTransforms(conf: RequestTransformerConfig): ((contentType: string | undefined) => BodyTransform | null) | null {
  const ops: BodyOps = {
    remove: conf.remove.body,
    rename: conf.rename.body.map(splitPair),
    replace: conf.replace.body.map(pair),
    add: conf.add.body.map(pair),
    append: conf.append.body.map(pair),
  };
  if (ops.remove.length + ops.rename.length + ops.replace.length + ops.add.length + ops.append.length === 0) return null;
  const json = jsonBody(ops);
  const form = formBody(ops);
  return (contentType) => {
    if (!contentType) return null;
    const ct = contentType.toLowerCase();
    if (ct.includes('application/json')) return json;
    if (ct.includes('multipart/form-data')) {
      const b = boundaryOf(contentType);
      return b === null ? null : multipartBody(ops, b);
    }
    if (ct.includes('application/x-www-form-urlencoded')) return form;
    return null;
  };
}
