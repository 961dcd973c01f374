// Kong 3 "traditional_compatible" routing over an in-memory index. Matchers are ranked once
// at build time by Kong's priority; a request only looks at the matchers filed under its host
// (exact hosts by name, wildcard hosts, host-less routes) and under its first path segment,
// so 10,000 routes cost about what 10 do. The first matching matcher in rank order wins.
import type { Route, Service } from '../entities/types.ts';
import { compareMatchers, compileRoute, type CompiledMatcher } from './route-compile.ts';
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
}

class PathIndex {
  readonly complete = new Map<string, CompiledMatcher[]>();
  readonly partial = new Map<string, CompiledMatcher[]>();
  readonly always: CompiledMatcher[] = [];
  partialLengths: number[] = [];

  add(m: CompiledMatcher): void {
    const prefixes = m.paths?.filter((p) => p.prefix !== null) ?? [];
    if (!m.paths || prefixes.length !== m.paths.length) {
      this.always.push(m);
      return;
    }
    for (const p of prefixes) {
      const pre = p.prefix!;
      const slash = pre.indexOf('/', 1);
      const map = slash === -1 ? this.partial : this.complete;
      const key = slash === -1 ? pre.slice(1) : pre.slice(1, slash);
      const list = map.get(key);
      if (!list) map.set(key, [m]);
      else if (list[list.length - 1] !== m) list.push(m);
    }
  }

  seal(): void {
    const lens = new Set<number>();
    for (const k of this.partial.keys()) lens.add(k.length);
    this.partialLengths = [...lens].sort((a, b) => a - b);
    // Matchers were added in rank order, so every list is already sorted by rank.
  }
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
    const raw = f.headers[r.name];
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

function fullMatch(m: CompiledMatcher, f: RequestFacts): boolean {
  return (
    (m.methods === null || m.methods.has(f.method)) && matchHost(m, f) && matchHeaders(m, f) && matchPath(m, f.path)
  );
}

// Compiled matchers by route object, shared by successive Routers.
const compiled = new WeakMap<Route, { service: Service | null; matchers: Omit<CompiledMatcher, 'rank'>[] }>();

export class Router {
  private readonly exact = new Map<string, PathIndex>();
  private readonly wildcard = new PathIndex();
  private readonly hostless = new PathIndex();
  readonly size: number;

  constructor(routes: Iterable<Route>, serviceOf: (r: Route) => Service | null | undefined) {
    const all: Omit<CompiledMatcher, 'rank'>[] = [];
    for (const r of routes) {
      const svc = r.service ? serviceOf(r) ?? null : null;
      if (r.service && !svc) continue; // dangling reference: Kong would never have stored it
      if (svc && svc.enabled === false) continue; // Kong drops routes of disabled services
      if (r.protocols && r.protocols.length && !r.protocols.some((p) => p === 'http' || p === 'https')) continue;
      // Entities are replaced, never mutated, when they change, so a route object (with the
      // same service object) compiles to the same matchers: reuse them and a change to one
      // route among 10,000 recompiles one route, not all (compiling is most of a rebuild).
      let cached = compiled.get(r);
      if (!cached || cached.service !== svc) {
        try {
          cached = { service: svc, matchers: compileRoute(r, svc) };
        } catch {
          // an invalid regex was rejected by the Admin API; skip defensively, never take down the router
          continue;
        }
        compiled.set(r, cached);
      }
      // A shallow copy: each Router owns its matchers' ranks, so the router still serving
      // is untouched however this build ends.
      for (const m of cached.matchers) all.push({ ...m });
    }
    all.sort(compareMatchers);
    this.size = all.length;
    all.forEach((partial, rank) => {
      const m = partial as CompiledMatcher;
      m.rank = rank;
      if (!m.hosts) {
        this.hostless.add(m);
        return;
      }
      let wild = false;
      const seen = new Set<string>();
      for (const h of m.hosts) {
        if (h.kind !== 'exact') {
          wild = true;
          continue;
        }
        if (seen.has(h.host)) continue;
        seen.add(h.host);
        let idx = this.exact.get(h.host);
        if (!idx) this.exact.set(h.host, (idx = new PathIndex()));
        idx.add(m);
      }
      if (wild) this.wildcard.add(m);
    });
    for (const idx of this.exact.values()) idx.seal();
    this.wildcard.seal();
    this.hostless.seal();
  }

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

function buildMatch(m: CompiledMatcher, path: string, prefix: string | null, regex: RegExpExecArray | null): RouteMatch {
  const route = m.route;
  const service = m.service;
  const matched = prefix ?? (regex ? regex[0] : null);
  const strip = route.strip_path !== false && matched !== null;
  const postfix = strip ? path.slice(matched!.length) : '';
  const base = service?.path || '/';
  const upstreamPath =
    route.path_handling === 'v1' ? upstreamPathV1(strip, postfix, path, base) : upstreamPathV0(strip, postfix, path, base);
  return { route, service, upstreamPath, strippedPrefix: strip ? matched : null, captures: regex };
}
