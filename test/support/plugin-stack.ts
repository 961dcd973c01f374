// An in-process stack for plugin tests: a fresh Postgres database bootstrapped with every
// migration, the Admin API on it, a proxy fed by the Admin API's change events (as a node's
// cache is) and a real echo upstream. Requests go over real HTTP to each.
import type pg from 'pg';
import { testDatabase } from './pg.ts';
import { echoServer, type Upstream_ } from './proxy-fixtures.ts';
import { createPool } from '../../src/db/pool.ts';
import { bootstrap } from '../../src/db/migrate.ts';
import { loadSnapshot } from '../../src/db/snapshot.ts';
import { freePort } from '../../src/db/embedded.ts';
import { createAdminServer, type AdminServer } from '../../src/admin/index.ts';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';

export interface AdminRes {
  status: number;
  body: any;
}

export interface PluginStack {
  pool: pg.Pool;
  admin: AdminServer;
  proxy: ProxyServer;
  upstream: Upstream_;
  adminUrl: string;
  proxyUrl: string;
  /** An Admin API call with a JSON body, or a form body when `form` is given. */
  call(method: string, path: string, body?: unknown, form?: string): Promise<AdminRes>;
  /** A call that must succeed (2xx): its body. */
  ok(method: string, path: string, body?: unknown): Promise<any>;
  close(): Promise<void>;
}

export async function pluginStack(prefix: string): Promise<PluginStack> {
  const db = await testDatabase(prefix);
  const pool = createPool(db.conf);
  await bootstrap(pool);
  const upstream = await echoServer();
  const proxy = await createProxyServer({ snapshot: await loadSnapshot(pool) });
  const proxyUrl = `http://127.0.0.1:${(await proxy.listen(await freePort(), '127.0.0.1')).port}`;
  const admin = createAdminServer({
    pool,
    nodeInfo: { id: '0b9c4a1e-6f2d-4c3b-8a7e-5d4c3b2a1f01', name: prefix, hostname: prefix, version: '0.1.0', role: 'traditional' },
    configSummary: {},
    onChanges: (evs) => proxy.applyChanges(evs),
  });
  const adminUrl = `http://127.0.0.1:${(await admin.listen('127.0.0.1', await freePort())).port}`;
  const call = async (method: string, path: string, body?: unknown, form?: string): Promise<AdminRes> => {
    const headers: Record<string, string> = {};
    let payload: string | undefined;
    if (form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      payload = form;
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await fetch(`${adminUrl}${path}`, { method, headers, body: payload });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const ok = async (method: string, path: string, body?: unknown) => {
    const r = await call(method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path} answered ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  return {
    pool,
    admin,
    proxy,
    upstream,
    adminUrl,
    proxyUrl,
    call,
    ok,
    close: async () => {
      await admin.close();
      await proxy.close();
      await upstream.close();
      await pool.end();
    },
  };
}
