// A small Admin API client for translated Kong specs: JSON, form-urlencoded and multipart
// bodies (Kong's it_content_types), answers parsed as JSON with the raw text kept.
import type pg from 'pg';
import { testDatabase } from '../../support/pg.ts';
import { createPool } from '../../../src/db/pool.ts';
import { bootstrap } from '../../../src/db/migrate.ts';
import { freePort } from '../../../src/db/embedded.ts';
import { createAdminServer, type AdminServer } from '../../../src/admin/index.ts';

export type ContentType = 'application/x-www-form-urlencoded' | 'multipart/form-data' | 'application/json';
export const CONTENT_TYPES: ContentType[] = ['application/x-www-form-urlencoded', 'multipart/form-data', 'application/json'];
export type Res = { status: number; body: any; text: string };

export interface KongAdmin {
  pool: pg.Pool;
  call(method: string, path: string, body?: Record<string, unknown>, type?: ContentType): Promise<Res>;
  close(): Promise<void>;
}

function encode(body: Record<string, unknown>, type: ContentType): string {
  if (type === 'application/json') return JSON.stringify(body);
  const pairs: [string, string][] = [];
  for (const [k, v] of Object.entries(body)) {
    if (Array.isArray(v)) v.forEach((x) => pairs.push([k, String(x)]));
    else if (v !== null && v !== undefined) pairs.push([k, String(v)]);
  }
  if (type === 'application/x-www-form-urlencoded') return new URLSearchParams(pairs).toString();
  // By hand: FormData would turn the PEMs' LF line ends into CRLF; Kong's test client sends them as they are.
  const parts = pairs.map(([k, v]) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
  return `${parts.join('')}--${BOUNDARY}--\r\n`;
}

const BOUNDARY = 'gossamer-kong-spec-boundary';

export async function startKongAdmin(prefix: string): Promise<KongAdmin> {
  const db = await testDatabase(prefix);
  const pool = createPool(db.conf);
  await bootstrap(pool);
  const admin: AdminServer = createAdminServer({
    pool,
    nodeInfo: { id: '8c3e7f6a-1b2c-4d5e-9f00-123456789abc', name: 'node-a', hostname: 'host-a', version: '0.1.0', role: 'traditional' },
    configSummary: {},
  });
  const { port } = await admin.listen('127.0.0.1', await freePort());
  return {
    pool,
    async call(method, path, body, type = 'application/json') {
      const headers: Record<string, string> = {};
      let payload: string | undefined;
      if (body !== undefined) {
        payload = encode(body, type);
        headers['content-type'] = type === 'multipart/form-data' ? `${type}; boundary=${BOUNDARY}` : type;
      }
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers, body: payload });
      const text = await res.text();
      return { status: res.status, text, body: text ? JSON.parse(text) : undefined };
    },
    async close() {
      await admin.close();
      await pool.end();
    },
  };
}
