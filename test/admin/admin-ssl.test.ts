// admin_listen's ssl flag (Kong's admin_ssl_cert / admin_ssl_cert_key, a generated default
// otherwise) and the ssl_* keys on a real node's ssl listeners, proxy and Admin API alike:
// a `gossamer start` process (DB-less, no Postgres) with ssl_cipher_suite = modern refuses a
// TLSv1.2 client on both and serves TLSv1.3.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls, { type ConnectionOptions } from 'node:tls';
import { freePort } from '../../src/db/embedded.ts';
import { startNodeProcess } from '../support/cli.ts';
import { until } from '../support/until.ts';

const children: ChildProcess[] = [];
let tmp: string;
let output: () => string;
const ports = { proxy: 0, admin: 0, adminSsl: 0, cluster: 0 };

interface Answer {
  protocol?: string | null;
  cn?: string;
  head?: string;
  error?: string;
}

function get(port: number, p: string, extra: ConnectionOptions = {}): Promise<Answer> {
  return new Promise((resolve) => {
    const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...extra });
    let data = '';
    sock.on('secureConnect', () => sock.write(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    sock.on('data', (d) => (data += d));
    sock.on('error', (err) => resolve({ error: err.message }));
    sock.on('end', () => resolve({ protocol: sock.getProtocol(), cn: String(sock.getPeerCertificate().subject?.CN), head: data.split('\r\n')[0] }));
  });
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-admin-ssl-'));
  for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
  const conf = path.join(tmp, 'gossamer.conf');
  fs.writeFileSync(
    conf,
    [
      `prefix = ${path.join(tmp, 'prefix')}`,
      'database = off',
      `proxy_listen = 127.0.0.1:${ports.proxy} ssl`,
      `admin_listen = 127.0.0.1:${ports.admin}, 127.0.0.1:${ports.adminSsl} ssl`,
      `cluster_listen = 127.0.0.1:${ports.cluster}`,
      'worker_processes = 1',
      'ssl_cipher_suite = modern',
    ].join('\n') + '\n',
  );
  const node = startNodeProcess(conf, children);
  output = node.output;
  await until('the node answers on its plain Admin API address', async () => {
    try {
      return (await fetch(`http://127.0.0.1:${ports.admin}/status`)).status === 200 || undefined;
    } catch {
      return undefined;
    }
  }, 60_000, () => output());
}, 90_000);

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('admin_listen with ssl serves the Admin API over TLS, with the generated admin certificate', async () => {
  const r = await get(ports.adminSsl, '/status');
  expect(r).toMatchObject({ protocol: 'TLSv1.3', head: 'HTTP/1.1 200 OK', cn: 'localhost' });
  expect(fs.existsSync(path.join(tmp, 'prefix', 'ssl', 'admin-gossamer-default.crt'))).toBe(true);
});

test('ssl_cipher_suite = modern: a TLSv1.2 client is refused on the Admin API and on the proxy', async () => {
  for (const port of [ports.adminSsl, ports.proxy]) {
    expect((await get(port, '/', { maxVersion: 'TLSv1.2' })).error, String(port)).toMatch(/protocol version|unsupported protocol/i);
  }
  expect(await get(ports.proxy, '/nothing-here')).toMatchObject({ protocol: 'TLSv1.3', head: 'HTTP/1.1 404 Not Found' });
});
