// The real declarative files of test/declarative/fixtures/ (README.md there) as a DB-less node's
// declarative_config, unchanged: the node starts, its Admin API lists every entity of the file,
// its GET /config posted back is accepted as the same configuration; and `gossamer config parse`
// (Kong's `kong config parse`) says so, or lists the problems and exits 1.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { adminRequest, proxiedStatus } from '../../sim/harness/admin-call.ts';
import { runCli } from '../support/cli.ts';
import { dblessFixture, postConfig, type DblessFixture } from './dbless-support.ts';

const DIR = path.join(import.meta.dirname, '..', 'declarative', 'fixtures');
const FIXTURES = fs.readdirSync(DIR).filter((f) => /\.ya?ml$|\.json$/.test(f));

let fx: DblessFixture;

beforeAll(async () => {
  fx = await dblessFixture('dbless-fixtures');
});

afterAll(async () => {
  await fx?.close();
});

/** Every entity the Admin API lists of one kind, following `offset`. */
async function all(n: Parameters<typeof adminRequest>[0], url: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  let next = `${url}?size=1000`;
  for (;;) {
    const r = await adminRequest(n, 'GET', next);
    out.push(...r.body.data);
    if (!r.body.offset) return out;
    next = `${url}?size=1000&offset=${encodeURIComponent(r.body.offset)}`;
  }
}

describe.each(FIXTURES.map((f, i) => [f, i] as const))('%s', (name, i) => {
  test('`gossamer config parse` accepts it', async () => {
    const r = await runCli(['config', 'parse', path.join(DIR, name)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('parse successful');
  });

  test('loads as declarative_config, and its GET /config posted back is the same configuration', async () => {
    const file = path.join(DIR, name);
    const doc = parse(fs.readFileSync(file, 'utf8')) as Record<string, { routes?: unknown[] }[]>;
    const n = await fx.node(`fixture-${i}`, { declarative_config: file, worker_processes: 1 });
    await n.start();
    expect(await all(n, '/services')).toHaveLength(doc.services?.length ?? 0);
    expect(await all(n, '/upstreams')).toHaveLength(doc.upstreams?.length ?? 0);
    expect(await all(n, '/consumers')).toHaveLength(doc.consumers?.length ?? 0);
    const routes = (doc.services ?? []).reduce((k, s) => k + (s.routes?.length ?? 0), 0) + (doc.routes?.length ?? 0);
    expect(await all(n, '/routes')).toHaveLength(routes);
    const hash = (await adminRequest(n, 'GET', '/status')).body.configuration_hash;
    const exported = (await adminRequest(n, 'GET', '/config')).body.config as string;
    expect((await postConfig(n, exported, 'application/yaml')).status).toBe(201);
    expect((await adminRequest(n, 'GET', '/status')).body.configuration_hash).toBe(hash);
    if (name.startsWith('supabase')) {
      // key-auth and acl as the file sets them: no key is 401; the anon key passes both
      // (then the upstream, a docker-compose host name, does not resolve here).
      expect(await proxiedStatus(n, '/rest/v1/')).toBe(401);
      const withKey = await fetch(`${n.proxyUrl}/rest/v1/?apikey=${encodeURIComponent('${ANON_KEY}')}`);
      await withKey.arrayBuffer();
      expect([401, 403]).not.toContain(withKey.status);
    }
    await n.stop();
  }, 120_000);
});

test('`gossamer config parse` lists every problem of a bad file with its place and exits 1', async () => {
  const bad = path.join(fx.tmp, 'bad.yml');
  fs.writeFileSync(bad, '_format_version: "2.1"\nservices:\n- name: a\n  port: 99999\n  routes:\n  - paths: [/ok]\n    methods: 5\n');
  const r = await runCli(['config', 'parse', bad]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^Error: Failed parsing:/);
  expect(r.stderr).toMatch(/services\[0\]\.host: required field missing/);
  expect(r.stderr).toMatch(/services\[0\]\.port: value should be between 0 and 65535/);
  expect(r.stderr).toMatch(/services\[0\]\.routes\[0\]\.methods/);
});
