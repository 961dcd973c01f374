// Kong's `certificates:` (with nested `snis`, as names or records), `snis:` and
// `ca_certificates:` sections through `gossamer config db_import` / `db_export`: imported with
// their references, exported flat, and an export imported elsewhere gives the same entities.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { parse } from 'yaml';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadSnapshot } from '../../src/db/snapshot.ts';
import { runCli } from '../support/cli.ts';
import { testDatabase } from '../support/pg.ts';
import { ssl } from '../support/tls-fixtures.ts';

let dir: string;
const pools: pg.Pool[] = [];

async function database(name: string): Promise<{ conf: string; pool: pg.Pool }> {
  const db = await testDatabase(name);
  const conf = path.join(dir, `${name}.conf`);
  fs.writeFileSync(conf, Object.entries(db.conf).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
  const boot = await runCli(['migrations', 'bootstrap', '-c', conf]);
  expect(boot.code, boot.stderr).toBe(0);
  const pool = new pg.Pool({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database, max: 2 });
  pools.push(pool);
  return { conf, pool };
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-decl-tls-'));
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  fs.rmSync(dir, { recursive: true, force: true });
});

const CERT_ID = '3d6cd1b4-5b8f-4f3e-9e53-0a1a4c7e8b01';
const file = {
  _format_version: '3.0',
  certificates: [
    { id: CERT_ID, cert: ssl.cert, key: ssl.key, cert_alt: ssl.cert_ecdsa, key_alt: ssl.key_ecdsa, snis: ['example.com', { name: '*.example.com', tags: ['wild'] }] },
  ],
  snis: [{ name: 'example.*', certificate: CERT_ID }],
  ca_certificates: [{ cert: ssl.cert_ca, tags: ['upstream-ca'] }],
};

test('certificates with nested snis, top-level snis and ca_certificates import, export flat, and re-import identically', async () => {
  const a = await database('decl_tls_a');
  const src = path.join(dir, 'tls.yml');
  fs.writeFileSync(src, JSON.stringify(file));
  const imp = await runCli(['config', 'db_import', src, '-c', a.conf]);
  expect(imp.code, imp.stderr).toBe(0);
  const snap = await loadSnapshot(a.pool);
  expect(snap.certificates).toHaveLength(1);
  expect(snap.certificates![0]!.key_alt).toBe(ssl.key_ecdsa);
  expect(snap.snis!.map((s) => s.name).sort()).toEqual(['*.example.com', 'example.*', 'example.com']);
  expect(new Set(snap.snis!.map((s) => s.certificate.id))).toEqual(new Set([CERT_ID]));
  expect(snap.ca_certificates![0]!.cert_digest).toMatch(/^[0-9a-f]{64}$/);

  // Importing the same file again changes nothing: SNIs are found again by name, the CA by digest.
  expect((await runCli(['config', 'db_import', src, '-c', a.conf])).code).toBe(0);
  const again = await loadSnapshot(a.pool);
  expect(again.snis!.map((s) => s.id).sort()).toEqual(snap.snis!.map((s) => s.id).sort());
  expect(again.ca_certificates!.map((c) => c.id)).toEqual(snap.ca_certificates!.map((c) => c.id));

  const out = path.join(dir, 'export.yml');
  const exp = await runCli(['config', 'db_export', out, '-c', a.conf]);
  expect(exp.code, exp.stderr).toBe(0);
  const doc = parse(fs.readFileSync(out, 'utf8'));
  expect(Object.keys(doc)).toEqual(expect.arrayContaining(['certificates', 'snis', 'ca_certificates']));
  expect(doc.snis.every((s: { certificate: unknown }) => s.certificate === CERT_ID)).toBe(true);

  const b = await database('decl_tls_b');
  const imp2 = await runCli(['config', 'db_import', out, '-c', b.conf]);
  expect(imp2.code, imp2.stderr).toBe(0);
  const strip = (list: object[] | undefined) => (list ?? []).map(({ created_at: _c, updated_at: _u, ...rest }: any) => rest).sort((x: any, y: any) => x.id.localeCompare(y.id));
  const sb = await loadSnapshot(b.pool);
  for (const k of ['certificates', 'snis', 'ca_certificates'] as const) expect(strip(sb[k])).toEqual(strip(snap[k]));
});

test('a certificate whose key does not match, and an SNI naming no certificate, are listed as problems and nothing is written', async () => {
  const a = await database('decl_tls_c');
  const src = path.join(dir, 'bad.yml');
  fs.writeFileSync(src, JSON.stringify({ _format_version: '3.0', certificates: [{ cert: ssl.cert, key: ssl.key_alt }], snis: [{ name: 'x.test', certificate: 'nope.test' }] }));
  const imp = await runCli(['config', 'db_import', src, '-c', a.conf]);
  expect(imp.code).not.toBe(0);
  expect(imp.stderr).toContain('certificates[0]: certificate does not match key');
  expect(imp.stderr).toContain("snis[0].certificate: 'nope.test' is not in this file nor in the database");
  expect(imp.stderr).not.toContain('PRIVATE KEY');
  expect((await loadSnapshot(a.pool)).certificates ?? []).toHaveLength(0);
});
