// A hand-written router. Why not a framework: the Admin API is a few dozen fixed patterns
// of literal and `:param` segments, none is pinned in package.json, and owning the matcher
// lets us answer 404 vs 405 exactly as Kong does. Other parts register their own resource
// groups with `router.add` (e.g. /cluster/members).
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

export interface AdminRequest {
  method: string;
  /** The URL path, without the query string. */
  path: string;
  /** `:name` segments of the matched pattern, URL-decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  raw: IncomingMessage;
  /** The parsed body: JSON or form fields as a nested object. Throws Kong's 400s. */
  body(): Promise<Record<string, unknown>>;
  /** The body's media type: 'json', 'form' or 'none'. Valid after body(). */
  bodyKind(): 'json' | 'form' | 'none';
}

export interface AdminResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (req: AdminRequest) => Promise<AdminResponse> | AdminResponse;

interface Route {
  method: string;
  pattern: string;
  segments: string[];
  literals: number;
  handler: Handler;
}

export type Match =
  | { kind: 'found'; handler: Handler; params: Record<string, string>; pattern: string }
  | { kind: 'method'; allowed: string[] }
  | { kind: 'none' };

const split = (p: string) => p.split('/').filter((s) => s.length > 0);

function percentDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return Buffer.from(segment.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  }
}

export class Router {
  private routes: Route[] = [];

  /** Register `handler` for `method` on `pattern` (`/services/:services/routes`). */
  add(method: string, pattern: string, handler: Handler): this {
    const segments = split(pattern);
    const literals = segments.filter((s) => !s.startsWith(':')).length;
    const m = method.toUpperCase();
    if (this.routes.some((r) => r.method === m && r.pattern === pattern)) {
      throw new Error(`admin route ${m} ${pattern} is registered twice`);
    }
    this.routes.push({ method: m, pattern, segments, literals, handler });
    return this;
  }

  match(method: string, path: string): Match {
    // Bytes that are no UTF-8 decode to U+FFFD: the handler decides (Kong's /tags/{tag}
    // answers 400, a name lookup finds nothing).
    const parts = split(path).map(percentDecode);
    const candidates: { route: Route; params: Record<string, string> }[] = [];
    for (const route of this.routes) {
      if (route.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length; i++) {
        const seg = route.segments[i]!;
        if (seg.startsWith(':')) params[seg.slice(1)] = parts[i]!;
        else if (seg !== parts[i]) {
          ok = false;
          break;
        }
      }
      if (ok) candidates.push({ route, params });
    }
    if (candidates.length === 0) return { kind: 'none' };
    // The most literal pattern wins (`/plugins/enabled` over `/plugins/:plugins`).
    const best = Math.max(...candidates.map((c) => c.route.literals));
    const top = candidates.filter((c) => c.route.literals === best);
    const hit = top.find((c) => c.route.method === method) ?? (method === 'HEAD' ? top.find((c) => c.route.method === 'GET') : undefined);
    if (hit) return { kind: 'found', handler: hit.route.handler, params: hit.params, pattern: hit.route.pattern };
    return { kind: 'method', allowed: [...new Set(top.map((c) => c.route.method))] };
  }

  /** Registered patterns, for GET / and tests. */
  list(): { method: string; pattern: string }[] {
    return this.routes.map((r) => ({ method: r.method, pattern: r.pattern }));
  }
}
