// DB-less node processes for the tests of test/dbless/: a temporary folder, an echo upstream,
// and real `gossamer start` processes with database = off and no control plane.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/db/embedded.ts';
import { startEchoServer, type EchoServer } from '../../src/up/echo.ts';
import { SimNode } from '../../sim/harness/node-process.ts';

export interface DblessFixture {
  tmp: string;
  echo: EchoServer;
  /** A DB-less node (not started); `extra` adds or overrides configuration keys. */
  node(name: string, extra?: Record<string, string | number>): Promise<SimNode>;
  close(): Promise<void>;
}

export async function dblessFixture(prefix: string): Promise<DblessFixture> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `gossamer-${prefix}-`));
  const echo = await startEchoServer({ port: await freePort() });
  const made: SimNode[] = [];
  return {
    tmp,
    echo,
    async node(name, extra = {}) {
      const ports = { proxy: await freePort(), admin: await freePort(), cluster: await freePort() };
      const config = {
        node_name: name,
        database: 'off',
        proxy_listen: `127.0.0.1:${ports.proxy}`,
        admin_listen: `127.0.0.1:${ports.admin}`,
        cluster_listen: `127.0.0.1:${ports.cluster}`,
        cluster_advertise: `127.0.0.1:${ports.cluster}`,
        worker_processes: 2,
        ...extra,
      };
      const n = new SimNode({ name, dir: path.join(tmp, name), ports, config, onState: () => {} });
      made.push(n);
      return n;
    },
    async close() {
      await Promise.all(made.map((n) => n.stop(5000).catch(() => {})));
      for (const n of made) n.reap();
      await echo.close();
      if (!process.env.GOSSAMER_TEST_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** A POST /config with a raw body and content type; the answer's status and JSON (or null). */
export async function postConfig(n: SimNode, body: string | FormData | URLSearchParams, contentType?: string, query = ''): Promise<{ status: number; body: any }> {
  const r = await fetch(`${n.adminUrl}/config${query}`, {
    method: 'POST',
    headers: contentType ? { 'content-type': contentType } : {},
    body,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}
