// Shared helpers of the proxy tests: entity builders with Kong's defaults, real upstream
// servers on free ports, and a small HTTP client that never throws on status codes.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import type { ConfigSnapshot, Consumer, Plugin, Route, Service, Target, Upstream } from '../../src/entities/types.ts';
import type { KeyAuthCredential } from '../../src/plugins/key-auth/daos.ts';

let clock = 1_700_000_000;
const now = () => clock++;

export function service(o: Partial<Service> = {}): Service {
  return {
    id: randomUUID(), name: null, protocol: 'http', host: '127.0.0.1', port: 80, path: null, retries: 5,
    connect_timeout: 60000, write_timeout: 60000, read_timeout: 60000, enabled: true, tags: null,
    created_at: now(), updated_at: now(), ...o,
  };
}

export function route(svc: Service | null, o: Partial<Route> = {}): Route {
  return {
    id: randomUUID(), name: null, protocols: ['http', 'https'], methods: null, hosts: null, paths: null, headers: null,
    https_redirect_status_code: 426, regex_priority: 0, strip_path: true, path_handling: 'v0', preserve_host: false,
    request_buffering: true, response_buffering: true, snis: null, sources: null, destinations: null,
    service: svc ? { id: svc.id } : null, tags: null, created_at: now(), updated_at: now(), ...o,
  };
}

export function plugin(name: string, config: Record<string, unknown>, o: Partial<Plugin> = {}): Plugin {
  return {
    id: randomUUID(), name, instance_name: null, config, enabled: true, protocols: ['http', 'https'],
    service: null, route: null, consumer: null, tags: null, created_at: now(), updated_at: now(), ...o,
  };
}

export function consumer(username: string): Consumer {
  return { id: randomUUID(), username, custom_id: null, tags: null, created_at: now(), updated_at: now() };
}

export function keyauth(c: Consumer, key: string): KeyAuthCredential {
  return { id: randomUUID(), key, consumer: { id: c.id }, ttl: null, tags: null, created_at: now() };
}

export function upstream(name: string, o: Partial<Upstream> = {}): Upstream {
  return {
    id: randomUUID(), name, algorithm: 'round-robin', hash_on: 'none', hash_fallback: 'none', hash_on_header: null,
    hash_fallback_header: null, hash_on_cookie: null, hash_on_cookie_path: '/', slots: 10000, healthchecks: {},
    host_header: null, tags: null, created_at: now(), updated_at: now(), ...o,
  };
}

export function target(u: Upstream, t: string, weight = 100): Target {
  return { id: randomUUID(), target: t, weight, upstream: { id: u.id }, tags: null, created_at: now(), updated_at: now() };
}

export function snapshot(o: Partial<ConfigSnapshot> = {}): ConfigSnapshot {
  return { config_version: 1, services: [], routes: [], consumers: [], plugins: [], upstreams: [], targets: [], keyauth_credentials: [], ...o };
}

export interface Echo {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  port: number;
}

export interface Upstream_ {
  port: number;
  server: http.Server;
  hits: number;
  close(): Promise<void>;
}

/** An upstream that answers JSON describing the request it got (or runs `handler`). */
export async function echoServer(handler?: (req: http.IncomingMessage, res: http.ServerResponse) => void, port = 0): Promise<Upstream_> {
  const state = { hits: 0 };
  const server = http.createServer((req, res) => {
    state.hits++;
    if (handler) return handler(req, res);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body: Echo = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString(), port: (server.address() as AddressInfo).port };
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'yes' });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    get hits() {
      return state.hits;
    },
    close: () => new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    }),
  };
}

export interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json<T = Echo & { message?: string; request_id?: string }>(): T;
}

export async function get(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Res> {
  const r = await request(url, { method: (opts.method ?? 'GET') as 'GET', headers: opts.headers, body: opts.body });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers as Res['headers'], text, json: () => JSON.parse(text) };
}

/** The upstream port that answered each of `n` requests to `base + path` (-status on errors). */
export async function portsOf(base: string, path: string, n: number, headers?: Record<string, string>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await get(`${base}${path}`, { headers });
    out.push(r.status === 200 ? r.json().port : -r.status);
  }
  return out;
}

/** Polls `check` every 100 ms until it holds (true) or `ms` pass (false). */
export async function eventually(check: () => Promise<boolean>, ms = 15_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
