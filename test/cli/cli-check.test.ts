import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { runCli } from '../support/cli.ts';

function tmpConf(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-check-'));
  fs.writeFileSync(path.join(dir, 'gossamer.conf'), text);
  return path.join(dir, 'gossamer.conf');
}

test('gossamer check lists every problem, one line each, and exits 1', async () => {
  const conf = tmpConf('pg_port = seventy\nproxy_listen = 0.0.0.0:70000\ncluster_role = boss\nlog_level = loud\nmystery_key = 1\n');
  const r = await runCli(['check', '-c', conf]);
  expect(r.code).toBe(1);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('Error: '));
  expect(errors).toHaveLength(4);
  expect(r.stderr).toMatch(/Error: pg_port = 'seventy' is invalid \(from .*gossamer.conf\): allowed: 1-65535/);
  expect(r.stderr).toMatch(/Error: proxy_listen = '0\.0\.0\.0:70000' is invalid .*out of range 1-65535/);
  expect(r.stderr).toMatch(/Error: cluster_role = 'boss' is invalid .*allowed: traditional, control_plane or data_plane/);
  expect(r.stderr).toMatch(/Error: log_level = 'loud' is invalid/);
  expect(r.stderr).toMatch(/warning: .*unknown configuration key 'mystery_key'/);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
});

test('gossamer check accepts a good file, and an unknown key is only a warning', async () => {
  const conf = tmpConf('database = postgres\npg_host = db.internal\ncluster_advertise = 10.0.0.5:8005\nextra_thing = on\n');
  const r = await runCli(['check', '-c', conf]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`configuration at ${conf} is valid`);
  expect(r.stderr).toMatch(/unknown configuration key 'extra_thing'/);
});

test('KONG_ environment variables from the seed tutorial are understood', async () => {
  const conf = tmpConf('');
  const r = await runCli(['check', '-c', conf], {
    env: { KONG_DATABASE: 'postgres', KONG_PG_HOST: 'kong-db', KONG_PG_USER: 'kong', KONG_PG_PASSWORD: 'kong_password', KONG_ADMIN_LISTEN: '0.0.0.0:8001', KONG_PROXY_ACCESS_LOG: '/dev/stdout', KONG_PG_PORT: '99999' },
  });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/pg_port = '99999' is invalid \(from KONG_PG_PORT\)/);
});
