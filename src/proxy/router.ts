// Kong 3 "traditional_compatible" routing over an in-memory index (router-index.ts). Matchers
// are ranked by Kong's priority; a request only looks at the matchers filed under its host
// (exact hosts by name, wildcard hosts, host-less routes) and under its first path segment,
// so 10,000 routes cost about what 10 do. The first matching matcher in rank order wins.
import type { Route, Service } from '../entities/types.ts';
import type { CompiledMatcher } from './route-compile.ts';
import { RouteIndex, type PathIndex } from './router-index.ts';
import { upstreamPathV0, upstreamPathV1 } from './upstream-uri.ts';

export interface RouteMatch {
  route: Route;
  service: Service | null;
  /** Upstream path (no query) after strip_path / service path joining. */
  upstreamPath: string;
  /** The matched prefix when strip_path removed it (X-Forwarded-Prefix), else null. */
  strippedPrefix: string | null;
  /** Named and numbered regex captures (Kong's uri_captures), null for prefix matches. */
  captures: RegExpExecArray | null;
}

export interface RequestFacts {
  method: string;
  host: string; // lower-case, no port
  port: number; // Host header port, or the listener's
  path: string; // normalized, no query
  headers: Record<string, string | string[] | undefined>;
  /**
   * The request itself when there is one: a header sent twice is matched value by value
   * (headersDistinct), where node's joined or first-only `headers` would hide one.
   */
  message?: { headersDistinct: Record<string, string[] | undefined> } | null;
  /** An https request's TLS server name ('' when the client sent none); null or absent for plain HTTP. */
  sni?: string | null;
}

// Scratch for the matcher that just matched: avoids returning a tuple per candidate.
let hitPrefix: string | null = null;
let hitRegex: RegExpExecArray | null = null;

function matchHost(m: CompiledMatcher, f: RequestFacts): boolean {
  const rules = m.hosts;
  if (!rules) return true;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (r.port !== 0 && r.port !== f.port) continue;
    if (r.kind === 'exact' ? f.host === r.host : r.kind === 'suffix' ? f.host.endsWith(r.host) : f.host.startsWith(r.host)) return true;
  }
  return false;
}

function matchHeaders(m: CompiledMatcher, f: RequestFacts): boolean {
  const rules = m.headers;
  if (!rules) return true;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    const raw = f.message ? f.message.headersDistinct[r.name] : f.headers[r.name];
    if (raw === undefined) return false;
    const vals = Array.isArray(raw) ? raw : [raw];
    let ok = false;
    for (const v of vals) {
      if ((r.values && r.values.includes(v.toLowerCase())) || (r.regex && r.regex.test(v))) {
        ok = true;
        break;
      }
    }
    if (!ok) return false;
  }
  return true;
}

function matchPath(m: CompiledMatcher, path: string): boolean {
  const rules = m.paths;
  hitPrefix = null;
  hitRegex = null;
  if (!rules) return true;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (r.prefix !== null) {
      if (path.startsWith(r.prefix)) {
        hitPrefix = r.prefix;
        return true;
      }
    } else {
      const ex = r.regex!.exec(path);
      if (ex) {
        hitRegex = ex;
        return true;
      }
    }
  }
  return false;
}

/** Kong: `(net.protocol != "https" || tls.sni == ...)`, so snis only narrow https requests. */
function matchSni(m: CompiledMatcher, f: RequestFacts): boolean {
  const sni = f.sni;
  if (m.snis === null || sni === null || sni === undefined) return true;
  for (const r of m.snis) {
    if (r.op === 'exact' ? sni === r.value : r.op === 'suffix' ? sni.endsWith(r.value) : sni.startsWith(r.value)) return true;
  }
  return false;
}

function fullMatch(m: CompiledMatcher, f: RequestFacts): boolean {
  return (
    (m.methods === null || m.methods.has(f.method)) && matchHost(m, f) && matchHeaders(m, f) && matchPath(m, f.path) && matchSni(m, f)
  );
}

/** `new Router(routes, serviceOf)` builds it; `update()` (RouteIndex) keeps it current. */
export class Router extends RouteIndex {
  match(f: RequestFacts): RouteMatch | null {
    // No closures here: tsx (esbuild keepNames) wraps every function expression in a
    // __name() call, which would cost more than the whole lookup.
    const path = f.path;
    const slash = path.indexOf('/', 1);
    const seg = slash === -1 ? path.slice(1) : path.slice(1, slash);
    best = null;
    bestRank = Infinity;
    scanIndex(this.exact.get(f.host), seg, f);
    scanIndex(this.wildcard, seg, f);
    scanIndex(this.hostless, seg, f);
    const m = best as CompiledMatcher | null;
    best = null;
    if (m === null) return null;
    return buildMatch(m, path, bestPrefix, bestRegex);
  }
}

// Scan state of the current match() call (the router is synchronous, so module state is safe).
let best: CompiledMatcher | null = null;
let bestRank = Infinity;
let bestPrefix: string | null = null;
let bestRegex: RegExpExecArray | null = null;

function scan(list: CompiledMatcher[] | undefined, f: RequestFacts): void {
  if (list === undefined) return;
  for (let i = 0; i < list.length; i++) {
    const m = list[i]!;
    if (m.rank >= bestRank) return;
    if (fullMatch(m, f)) {
      best = m;
      bestRank = m.rank;
      bestPrefix = hitPrefix;
      bestRegex = hitRegex;
      return;
    }
  }
}

function scanIndex(idx: PathIndex | undefined, seg: string, f: RequestFacts): void {
  if (idx === undefined) return;
  if (idx.always.length !== 0) scan(idx.always, f);
  if (idx.complete.size !== 0) scan(idx.complete.get(seg), f);
  const lens = idx.partialLengths;
  for (let i = 0; i < lens.length; i++) {
    const n = lens[i]!;
    if (n > seg.length) break;
    scan(idx.partial.get(n === seg.length ? seg : seg.slice(0, n)), f);
  }
}

/**
 * kong/router/utils.lua sanitize_uri_postfix: what is left after a stripped prefix does not
 * start with a dot segment (`/route./req` stripped of `/route` goes on as `req`).
 */
function sanitizePostfix(p: string): string {
  if (p.length === 0 || p.charCodeAt(0) !== 46 /* . */) return p;
  if (p === '.' || p === '..') return '';
  if (p.startsWith('./')) return p.slice(2);
  if (p.startsWith('../')) return p.slice(3);
  return p;
}

function buildMatch(m: CompiledMatcher, path: string, prefix: string | null, regex: RegExpExecArray | null): RouteMatch {
  const route = m.route;
  const service = m.service;
  const matched = prefix ?? (regex ? regex[0] : null);
  const strip = route.strip_path !== false && matched !== null;
  const postfix = strip ? sanitizePostfix(path.slice(matched!.length)) : '';
  const base = service?.path || '/';
  const upstreamPath =
    route.path_handling === 'v1' ? upstreamPathV1(strip, postfix, path, base) : upstreamPathV0(strip, postfix, path, base);
  return { route, service, upstreamPath, strippedPrefix: strip ? matched : null, captures: regex };
}
