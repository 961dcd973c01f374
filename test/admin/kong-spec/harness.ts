// What Kong's spec helpers give an Admin API spec (spec/helpers.lua): an admin client that
// encodes bodies as Kong's test client does, blueprints (`bp.services:insert()`), the db to
// read back from and truncate. One Admin API over a real Postgres per test file.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type pg from 'pg';
import { testDatabase } from '../../support/pg.ts';
import { createPool } from '../../../src/db/pool.ts';
import { bootstrap } from '../../../src/db/migrate.ts';
import { freePort } from '../../../src/db/embedded.ts';
import { createAdminServer, type AdminServer } from '../../../src/admin/index.ts';
import { insertEntity } from '../../../src/db/write.ts';
import { selectEntity } from '../../../src/db/read.ts';
import { ENTITY_ORDER } from '../../../src/entities/index.ts';
import type { EntityName } from '../../../src/entities/types.ts';

export const FORM = 'application/x-www-form-urlencoded';
export const JSON_CT = 'application/json';
/** Kong's `it_content_types` runs form, multipart and JSON; its multipart case returns at once ("the client doesn't play well with this"). */
export const CONTENT_TYPES = [
  ['application/www-form-urlencoded', FORM],
  ['application/json', JSON_CT],
] as const;
export const MULTIPART = 'multipart/form-data';
const BOUNDARY = 'kong-spec-boundary-8f2c';

/**
 * Kong's `it_content_types(title, fn)`: the case form-encoded, multipart and as JSON. Pass
 * `multipart: true` only where Kong's case runs for multipart (most return at once).
 */
export function contentTypes(spec: string, register: (name: string, fn: () => Promise<void>) => void) {
  return (title: string, fn: (type: string) => () => Promise<void>, opts: { multipart?: boolean } = {}) => {
    register(`${spec}: ${title} with application/www-form-urlencoded`, fn(FORM));
    if (opts.multipart) register(`${spec}: ${title} with multipart/form-data`, fn(MULTIPART));
    register(`${spec}: ${title} with application/json`, fn(JSON_CT));
  };
}

/** Kong's test client's multipart body: one part per encoded field. */
function encodeMultipart(args: Record<string, unknown>): string {
  const parts = encodeArgs(args)
    .split('&')
    .filter(Boolean)
    .map((kv) => {
      const [k, v = ''] = kv.split('=');
      return `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${decodeURIComponent(k!)}"\r\n\r\n${decodeURIComponent(v)}\r\n`;
    });
  return `${parts.join('')}--${BOUNDARY}--\r\n`;
}

export type Res = { status: number; text: string; body: any; headers: Headers };

/** kong/tools/http.lua encode_args: arrays as `a[1]=`, records as `a.b=`, null as empty, keys sorted. */
export function encodeArgs(args: Record<string, unknown>): string {
  const out: string[] = [];
  const put = (key: string, v: unknown) => {
    if (v === null) out.push(`${encodeURIComponent(key)}=`);
    else if (Array.isArray(v)) v.forEach((x, i) => put(`${key}[${i + 1}]`, x));
    else if (typeof v === 'object') for (const k of Object.keys(v as object).sort()) put(`${key}.${k}`, (v as Record<string, unknown>)[k]);
    else if (v !== undefined) out.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(v))}`);
  };
  for (const k of Object.keys(args).sort()) put(k, args[k]);
  return out.join('&');
}

export interface SendOpts {
  body?: unknown;
  /** Content-Type; a JSON body by default. A string body is sent as written. */
  type?: string;
  query?: Record<string, string | number>;
  headers?: Record<string, string>;
  /** Send the body without a Content-Type (Kong's `client:request` with no header). */
  rawType?: boolean;
}

export interface KongSpecAdmin {
  pool: pg.Pool;
  /** http://127.0.0.1:port of the Admin API. */
  base: string;
  nodeId: string;
  send(method: string, path: string, opts?: SendOpts): Promise<Res>;
  get(path: string, opts?: SendOpts): Promise<Res>;
  post(path: string, opts?: SendOpts): Promise<Res>;
  put(path: string, opts?: SendOpts): Promise<Res>;
  patch(path: string, opts?: SendOpts): Promise<Res>;
  delete(path: string, opts?: SendOpts): Promise<Res>;
  /** db.<entity>:select({id}) */
  select(entity: EntityName, id: string): Promise<Record<string, unknown> | null>;
  /** db:truncate(): every entity table. */
  truncate(...names: EntityName[]): Promise<void>;
  bp: Blueprints;
  close(): Promise<void>;
}

type Insert = (overrides?: Record<string, unknown>) => Promise<Record<string, any>>;
export interface Blueprints {
  services: Insert;
  named_services: Insert;
  routes: Insert;
  named_routes: Insert;
  consumers: Insert;
  upstreams: Insert;
  targets: Insert;
  plugins: Insert;
  key_auth_plugins: Insert;
  insert(entity: EntityName, values: Record<string, unknown>): Promise<Record<string, any>>;
}

function blueprints(pool: pg.Pool): Blueprints {
  let n = 0;
  // A blueprint takes a whole parent entity as its reference, as Kong's do.
  const ref = (v: unknown) => (v && typeof v === 'object' && 'id' in v ? { id: (v as { id: string }).id } : v);
  const insert = async (entity: EntityName, values: Record<string, unknown>) => {
    const row = { ...values };
    for (const f of ['service', 'route', 'consumer', 'upstream']) if (f in row) row[f] = ref(row[f]);
    return (await insertEntity(pool, entity, row)).entity as Record<string, any>;
  };
  // spec/fixtures/blueprints.lua defaults.
  const bp: Blueprints = {
    insert,
    services: (o = {}) => insert('services', { protocol: 'http', host: '127.0.0.1', port: 15555, ...o }),
    named_services: (o = {}) => {
      const i = ++n;
      return insert('services', { protocol: 'http', name: `service-${i}`, host: `service-${i}.test`, port: 15555, ...o });
    },
    routes: async (o = {}) => insert('routes', { service: o.service === undefined ? await bp.services() : o.service, ...o }),
    named_routes: async (o = {}) => {
      const i = ++n;
      return insert('routes', { name: `route-${i}`, hosts: [`route-${i}.test`], service: o.service === undefined ? await bp.services() : o.service, ...o });
    },
    consumers: (o = {}) => insert('consumers', { username: `consumer-id-${++n}`, ...o }),
    upstreams: (o = {}) => insert('upstreams', { name: `upstream-${++n}`, slots: 100, ...o }),
    targets: (o = {}) => insert('targets', { weight: 10, target: `${++n}.${n}.${n}.${n}:80`, ...o }),
    plugins: (o = {}) => insert('plugins', { ...o }),
    key_auth_plugins: (o = {}) => insert('plugins', { name: 'key-auth', ...o }),
  };
  return bp;
}

export interface StartOptions {
  /** Routes a node adds beside the generic ones (the balancer health endpoints). */
  routes?(router: AdminServer['router'], pool: pg.Pool, nodeId: string): void;
  /** Called after each committed write, before the answer (a node applies it here). */
  onChanges?(): Promise<void> | void;
}

export async function startKongSpecAdmin(prefix: string, opts: StartOptions = {}): Promise<KongSpecAdmin> {
  const db = await testDatabase(prefix);
  const pool = createPool(db.conf);
  await bootstrap(pool);
  const nodeId = randomUUID();
  const admin: AdminServer = createAdminServer({
    pool,
    nodeInfo: { id: nodeId, name: 'node-a', hostname: 'host-a', version: '0.1.0', role: 'traditional' },
    configSummary: { pg_host: db.host, pg_password: 'hide_me', admin_listen: '127.0.0.1:8001' },
    onChanges: () => opts.onChanges?.(),
  });
  opts.routes?.(admin.router, pool, nodeId);
  const addr = await admin.listen('127.0.0.1', await freePort());
  const base = `http://127.0.0.1:${addr.port}`;

  const send = async (method: string, path: string, opts: SendOpts = {}): Promise<Res> => {
    const headers: Record<string, string> = { ...opts.headers };
    let payload: string | undefined;
    if (opts.rawType) {
      if (typeof opts.body === 'string') payload = opts.body;
    } else if (opts.body === undefined && opts.type) {
      headers['content-type'] = opts.type;
    } else if (opts.body !== undefined) {
      const type = opts.type ?? JSON_CT;
      headers['content-type'] = type === MULTIPART ? `${MULTIPART}; boundary=${BOUNDARY}` : type;
      if (typeof opts.body === 'string') payload = opts.body;
      else if (type === MULTIPART) payload = encodeMultipart(opts.body as Record<string, unknown>);
      else payload = type === FORM ? encodeArgs(opts.body as Record<string, unknown>) : JSON.stringify(opts.body);
    }
    const q = opts.query ? `?${new URLSearchParams(Object.entries(opts.query).map(([k, v]): [string, string] => [k, String(v)])).toString()}` : '';
    if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
    // node:http, not fetch: Kong's specs send bodies with GET ("ignores an invalid body").
    const res = await new Promise<{ status: number; text: string; headers: Headers }>((resolve, reject) => {
      const r = http.request(`${base}${path}${q}`, { method, headers }, (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (c: Buffer) => chunks.push(c));
        incoming.on('end', () => {
          const h = new Headers();
          for (const [name, v] of Object.entries(incoming.headers)) if (v !== undefined) h.set(name, Array.isArray(v) ? v.join(', ') : v);
          resolve({ status: incoming.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: h });
        });
        incoming.on('error', reject);
      });
      r.on('error', reject);
      r.end(payload);
    });
    const text = res.text;
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    return { status: res.status, text, body, headers: res.headers };
  };

  return {
    pool,
    base,
    nodeId,
    send,
    get: (p, o) => send('GET', p, o),
    post: (p, o) => send('POST', p, o),
    put: (p, o) => send('PUT', p, o),
    patch: (p, o) => send('PATCH', p, o),
    delete: (p, o) => send('DELETE', p, o),
    select: (entity, id) => selectEntity(pool, entity, { id }),
    truncate: async (...names) => {
      const list = names.length ? names : ENTITY_ORDER;
      await pool.query(`TRUNCATE ${list.join(', ')} CASCADE`);
    },
    bp: blueprints(pool),
    close: async () => {
      await admin.close();
      await pool.end();
    },
  };
}
