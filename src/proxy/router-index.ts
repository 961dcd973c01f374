// The router's index: every compiled matcher in Kong's priority order, filed by host (exact
// name, wildcard, none) and by first path segment. Built once from all routes, then kept
// current one route at a time: a change to one route among 10,000 costs a binary search and
// a few list splices, not a sort of everything (that sort was most of a proxy's reaction
// time to a change). Updates mutate in place and synchronously, so a request never sees a
// half-applied change.
import type { Route, Service } from '../entities/types.ts';
import { compareMatchers, compileRoute, type CompiledMatcher } from './route-compile.ts';

type ServiceOf = (r: Route) => Service | null | undefined;
type Partial = Omit<CompiledMatcher, 'rank'>;

/** Room between neighbouring ranks for matchers inserted later; renumbered when it runs out. */
const RANK_STEP = 1024;

// Compiled matchers by route object, shared by every router: entities are replaced, never
// mutated, when they change, so a route object (with the same service object) compiles to
// the same matchers.
const compiled = new WeakMap<Route, { service: Service | null; matchers: Partial[] }>();

function byRank(list: CompiledMatcher[], rank: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.rank < rank) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function insertByRank(list: CompiledMatcher[], m: CompiledMatcher): void {
  list.splice(byRank(list, m.rank), 0, m);
}

function removeByRank(list: CompiledMatcher[], m: CompiledMatcher): void {
  const i = byRank(list, m.rank);
  if (list[i] === m) list.splice(i, 1);
}

/** Matchers of one host bucket, by first path segment; every list is in rank order. */
const HTTP_PROTOCOLS = new Set(['http', 'https', 'grpc', 'grpcs']);
const isHttpProtocol = (p: string): boolean => HTTP_PROTOCOLS.has(p);

export class PathIndex {
  readonly complete = new Map<string, CompiledMatcher[]>();
  readonly partial = new Map<string, CompiledMatcher[]>();
  readonly always: CompiledMatcher[] = [];
  /** Distinct key lengths of `partial`, ascending (the lookup tries each prefix length). */
  partialLengths: number[] = [];
  private lengthCount = new Map<number, number>();

  get empty(): boolean {
    return this.always.length === 0 && this.complete.size === 0 && this.partial.size === 0;
  }

  add(m: CompiledMatcher): void {
    this.each(m, (list) => insertByRank(list, m), true);
  }

  remove(m: CompiledMatcher): void {
    this.each(m, (list) => removeByRank(list, m), false);
  }

  /** Calls `fn` with every list `m` is filed in (once per list), creating or dropping lists as needed. */
  private each(m: CompiledMatcher, fn: (list: CompiledMatcher[]) => void, create: boolean): void {
    const prefixes = m.paths?.filter((p) => p.prefix !== null) ?? [];
    if (!m.paths || prefixes.length !== m.paths.length) {
      fn(this.always);
      return;
    }
    const done = new Set<string>();
    for (const p of prefixes) {
      const pre = p.prefix!;
      const slash = pre.indexOf('/', 1);
      const isPartial = slash === -1;
      const key = isPartial ? pre.slice(1) : pre.slice(1, slash);
      const tag = (isPartial ? 'p' : 'c') + key;
      if (done.has(tag)) continue;
      done.add(tag);
      const map = isPartial ? this.partial : this.complete;
      let list = map.get(key);
      if (!list) {
        if (!create) continue;
        map.set(key, (list = []));
        if (isPartial) this.countLength(key.length, 1);
      }
      fn(list);
      if (list.length === 0) {
        map.delete(key);
        if (isPartial) this.countLength(key.length, -1);
      }
    }
  }

  private countLength(n: number, d: number): void {
    const c = (this.lengthCount.get(n) ?? 0) + d;
    if (c > 0) this.lengthCount.set(n, c);
    else this.lengthCount.delete(n);
    if (c === 0 || (d > 0 && c === 1)) this.partialLengths = [...this.lengthCount.keys()].sort((a, b) => a - b);
  }
}

interface Entry {
  serviceId: string | null;
  /** This router's matchers of the route (empty when the route is not routable). */
  matchers: CompiledMatcher[];
}

export class RouteIndex {
  protected readonly exact = new Map<string, PathIndex>();
  protected readonly wildcard = new PathIndex();
  protected readonly hostless = new PathIndex();
  /** Every matcher, in rank order. */
  private sorted: CompiledMatcher[] = [];
  /** Every route given, routable or not (a disabled service may come back). */
  private readonly entries = new Map<string, Entry>();
  private readonly byService = new Map<string, Set<string>>();

  constructor(routes: Iterable<Route>, serviceOf: ServiceOf) {
    const all: CompiledMatcher[] = [];
    for (const r of routes) {
      const matchers = this.track(r, serviceOf);
      for (const m of matchers) all.push(m);
    }
    all.sort(compareMatchers);
    all.forEach((m, i) => (m.rank = i * RANK_STEP));
    this.sorted = all;
    for (const m of all) this.file(m);
  }

  get size(): number {
    return this.sorted.length;
  }

  /**
   * Bring the index up to date after the routes `routeIds` and the services `serviceIds`
   * changed (created, updated or deleted): `routeOf` and `serviceOf` answer from the new state.
   */
  update(routeIds: Iterable<string>, serviceIds: Iterable<string>, routeOf: (id: string) => Route | undefined, serviceOf: ServiceOf): void {
    const ids = new Set(routeIds);
    for (const s of serviceIds) for (const id of this.byService.get(s) ?? []) ids.add(id);
    for (const id of ids) {
      this.untrack(id);
      const r = routeOf(id);
      if (!r) continue;
      for (const m of this.track(r, serviceOf)) {
        this.place(m);
        this.file(m);
      }
    }
  }

  /** Records the route and returns fresh matchers for it (unranked), or none when it cannot be routed. */
  private track(r: Route, serviceOf: ServiceOf): CompiledMatcher[] {
    const serviceId = r.service?.id ?? null;
    const entry: Entry = { serviceId, matchers: [] };
    this.entries.set(r.id, entry);
    if (serviceId) {
      let set = this.byService.get(serviceId);
      if (!set) this.byService.set(serviceId, (set = new Set()));
      set.add(r.id);
    }
    const svc = serviceId ? serviceOf(r) ?? null : null;
    if (serviceId && !svc) return entry.matchers; // dangling reference: Kong would never have stored it
    if (svc && svc.enabled === false) return entry.matchers; // Kong drops routes of disabled services
    // Stream routes (tcp, tls, udp) are not the HTTP router's; grpc(s) routes are (Kong's http subsystem).
    if (r.protocols && r.protocols.length && !r.protocols.some(isHttpProtocol)) return entry.matchers;
    let cached = compiled.get(r);
    if (!cached || cached.service !== svc) {
      try {
        cached = { service: svc, matchers: compileRoute(r, svc) };
      } catch {
        // an invalid regex was rejected by the Admin API; skip defensively, never take down the router
        return entry.matchers;
      }
      compiled.set(r, cached);
    }
    // Copies: each router owns its matchers' ranks.
    for (const m of cached.matchers) entry.matchers.push({ ...m, rank: 0 });
    return entry.matchers;
  }

  private untrack(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    if (entry.serviceId) {
      const set = this.byService.get(entry.serviceId);
      set?.delete(id);
      if (set?.size === 0) this.byService.delete(entry.serviceId);
    }
    for (const m of entry.matchers) {
      this.unfile(m);
      removeByRank(this.sorted, m);
    }
  }

  /** Gives `m` a rank between its neighbours in Kong's order and adds it to the sorted list. */
  private place(m: CompiledMatcher): void {
    const s = this.sorted;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareMatchers(s[mid]!, m) < 0) lo = mid + 1;
      else hi = mid;
    }
    const before = lo > 0 ? s[lo - 1]!.rank : undefined;
    const after = lo < s.length ? s[lo]!.rank : undefined;
    const rank = before === undefined ? (after === undefined ? 0 : after - RANK_STEP) : after === undefined ? before + RANK_STEP : (before + after) / 2;
    s.splice(lo, 0, m);
    if (before !== undefined && after !== undefined && !(rank > before && rank < after)) {
      // No room left between the two: renumber everything (order, and so every list, unchanged).
      s.forEach((x, i) => (x.rank = i * RANK_STEP));
      return;
    }
    m.rank = rank;
  }

  private file(m: CompiledMatcher): void {
    this.forEachIndex(m, true, (idx) => idx.add(m));
  }

  private unfile(m: CompiledMatcher): void {
    this.forEachIndex(m, false, (idx) => idx.remove(m));
  }

  private forEachIndex(m: CompiledMatcher, create: boolean, fn: (idx: PathIndex) => void): void {
    if (!m.hosts) return fn(this.hostless);
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
      if (!idx) {
        if (!create) continue;
        this.exact.set(h.host, (idx = new PathIndex()));
      }
      fn(idx);
      if (idx.empty) this.exact.delete(h.host);
    }
    if (wild) fn(this.wildcard);
  }
}
