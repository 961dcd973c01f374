// trusted_ips, real_ip_header and proxy_listen's proxy_protocol flag as a node reads them from
// kong.conf and hands them to its proxy workers.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { testDatabase, type TestDatabase } from '../support/pg.ts';
import { startDbNode, type DbNode } from '../support/db-nodes.ts';
import { echoServer, type Upstream_ } from '../support/proxy-fixtures.ts';
import { rawRequest } from '../support/raw-client.ts';

let db: TestDatabase;
let dir: string;
let up: Upstream_;
let node: DbNode;
let ppPort: number;
const children: ChildProcess[] = [];

beforeAll(async () => {
  db = await testDatabase('real_ip_node');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-realip-'));
  up = await echoServer();
  ppPort = await freePort();
  const conf = `proxy_listen = 127.0.0.1:${ppPort} proxy_protocol\ntrusted_ips = 127.0.0.1\nreal_ip_header = proxy_protocol\nport_maps = 80:${ppPort}\n`;
  node = await startDbNode('realip', db, dir, [], children, conf);
  const res = await fetch(`${node.admin}/services`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: `http://127.0.0.1:${up.port}` }) });
  const svc = (await res.json()) as { id: string };
  const r = await fetch(`${node.admin}/routes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ paths: ['/'], service: { id: svc.id } }) });
  expect(r.status).toBe(201);
}, 120_000);

afterAll(async () => {
  for (const c of children) {
    if (c.exitCode === null) c.kill('SIGTERM');
    if (c.exitCode === null) await new Promise((r) => c.once('exit', r));
  }
  await up?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

it("a node's workers read the PROXY header, take its address as the client's, and map the port", async () => {
  const a = await rawRequest(ppPort, `PROXY TCP4 192.0.2.44 127.0.0.1 40000 ${ppPort}\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  const echo = JSON.parse(/\{.*\}/s.exec(a.data)?.[0] ?? 'null') as { headers: Record<string, string> } | null;
  expect(echo, a.data).not.toBeNull();
  expect(echo!.headers).toMatchObject({ 'x-real-ip': '192.0.2.44', 'x-forwarded-for': '192.0.2.44', 'x-forwarded-port': '80' });
});
