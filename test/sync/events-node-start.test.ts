// Regression (issue #5/#7: "a rare lost delete after a restart"). A node that starts while
// other nodes write keeps applying changes to its cache of record between its warm snapshot
// and the moment its proxy workers listen. Those changes must reach the workers: before the
// fix they went to a proxy that did not exist yet and were dropped, so the restarted node kept
// serving routes deleted (or not serving routes created) during its start, until the next
// full reload. Here a real `gossamer start` process polls cluster_events every 20 ms while
// routes are created and deleted directly in Postgres for its whole start-up; afterwards its
// proxy must serve exactly what Postgres holds, and keep doing so.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { bootstrap, createPool, deleteEntity, insertEntity, type Pool } from '../../src/db/index.ts';
import { BIN, ROOT, cleanEnv } from '../support/cli.ts';
import { testDatabase, type TestDatabase } from '../support/pg.ts';

let db: TestDatabase;
let pool: Pool;
let dir: string;
let upstream: http.Server;
let child: ChildProcess | null = null;

beforeAll(async () => {
  db = await testDatabase('nstart');
  pool = createPool(db.conf);
  await bootstrap(pool);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-nstart-'));
  upstream = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    const gone = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child?.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(t);
  }
  upstream?.close();
  await pool?.end();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function status(url: string): Promise<number> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await r.body?.cancel();
    return r.status;
  } catch {
    return 0;
  }
}

test('changes committed while a node starts reach its proxy workers', async () => {
  const port = (upstream.address() as net.AddressInfo).port;
  const svc = await insertEntity(pool, 'services', { name: 'up', url: `http://127.0.0.1:${port}` });
  const serviceId = (svc.entity as { id: string }).id;
  const live = new Set<string>();
  const deleted = new Set<string>();

  const p = { proxy: await freePort(), admin: await freePort(), cluster: await freePort() };
  const file = path.join(dir, 'n1.conf');
  fs.writeFileSync(
    file,
    `pg_host = ${db.host}\npg_port = ${db.port}\npg_user = ${db.user}\npg_password = ${db.password}\npg_database = ${db.database}\n` +
      `prefix = ${path.join(dir, 'n1')}\nnode_name = n1\nproxy_listen = 127.0.0.1:${p.proxy}\nadmin_listen = 127.0.0.1:${p.admin}\n` +
      `cluster_listen = 127.0.0.1:${p.cluster}\nworker_processes = 1\ndb_update_frequency = 0.02\nlog_level = warn\n`,
  );
  let out = '';
  child = spawn(process.execPath, [BIN, 'start', '-c', file], { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));

  // Until the Admin API answers (it starts last), create a route and delete the one made eight
  // steps before (so that deletes hit routes the node loaded), every few milliseconds: the node's 20 ms poll applies them throughout its
  // start-up. Paths end in '/' so that no route's path is a prefix of another's.
  let n = 0;
  const deadline = Date.now() + 90_000;
  while ((await status(`http://127.0.0.1:${p.admin}/status`)) !== 200) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`node did not start:\n${out}`);
    await insertEntity(pool, 'routes', { name: `r${n}`, paths: [`/r${n}/`], service: { id: serviceId } });
    live.add(`r${n}`);
    const victim = `r${n - 8}`;
    if (live.delete(victim)) {
      await deleteEntity(pool, 'routes', { field: 'name', value: victim });
      deleted.add(victim);
    }
    n++;
    await new Promise((r) => setTimeout(r, 10));
  }
  // The writes must have overlapped the start-up, or this test proves nothing.
  expect(n, 'writes made while the node started').toBeGreaterThan(5);
  expect(deleted.size).toBeGreaterThan(0);

  // Give the node's poll a moment to pick up the last writes, then it must match Postgres exactly.
  const proxy = `http://127.0.0.1:${p.proxy}`;
  const wrong = async () => {
    const bad: string[] = [];
    for (const name of live) if ((await status(`${proxy}/${name}/`)) !== 200) bad.push(`${name} not served`);
    for (const name of deleted) if ((await status(`${proxy}/${name}/`)) !== 404) bad.push(`${name} (deleted) still served`);
    return bad;
  };
  let bad = await wrong();
  for (let k = 0; k < 20 && bad.length; k++) {
    await new Promise((r) => setTimeout(r, 250));
    bad = await wrong();
  }
  expect(bad, `proxy state after start (${n} writes during start-up)`).toEqual([]);
}, 150_000);
