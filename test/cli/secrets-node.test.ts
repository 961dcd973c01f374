// Secrets stay secret (issue #18, item 6): a real node, log_level = debug, a Postgres role with a
// password of its own, TLS and cluster certificates from files. Credentials are made through the
// Admin API, then bad requests carry them, wrong ones are tried, a database error is provoked and
// a node is started with a wrong password. Every log line, `GET /` and every error body is then
// searched for each secret: pg_password, the key-auth key, the basic-auth password and its hash,
// the jwt and hmac-auth secrets,
// the two private keys, the cluster secret and the hybrid cluster key derived from the cluster
// certificate's key (a control plane is started for it).
import type { ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { generateClusterCert, loadClusterIdentity } from '../../src/hybrid/cert.ts';
import { encodeJwt } from '../../src/plugins/jwt/parser.ts';
import { runCli, startNodeProcess } from '../support/cli.ts';
import { testDatabase, type TestDatabase } from '../support/pg.ts';
import { rawRequest } from '../support/raw-client.ts';
import { until } from '../support/until.ts';

let db: TestDatabase;
let dir: string;
let upstream: http.Server;
let upstreamPort: number;
const children: ChildProcess[] = [];
const tag = randomBytes(6).toString('hex');
const PG_PASSWORD = `PgPassword-${tag}`;
const ROLE = `secret_${tag}`;
const API_KEY = `ApiKey-${tag}`;
const BASIC_PASSWORD = `BasicPassword-${tag}`;
const WRONG_PG_PASSWORD = `WrongPgPassword-${tag}`;
const JWT_SECRET = `JwtSecret-${tag}`;
const HMAC_SECRET = `HmacSecret-${tag}`;
const ssl = generateClusterCert({ commonName: 'localhost' });
const clusterPair = generateClusterCert();

/** What must never be seen: the name says which secret it is when a test fails. */
const secrets: Record<string, string> = { pg_password: PG_PASSWORD, wrong_pg_password: WRONG_PG_PASSWORD, key_auth_key: API_KEY, basic_auth_password: BASIC_PASSWORD, jwt_secret: JWT_SECRET, hmac_secret: HMAC_SECRET };

/** The base64 lines of a PEM private key: any one of them seen is a leak. */
function pemLines(name: string, pem: string): void {
  pem.split('\n').filter((l) => l.length >= 40 && !l.startsWith('-----')).forEach((l, i) => (secrets[`${name} line ${i}`] = l));
}
pemLines('ssl_cert_key', ssl.key);
pemLines('cluster_cert_key', clusterPair.key);

function conf(name: string, ports: { proxy: number; admin: number; cluster: number }, password = PG_PASSWORD, extra = ''): string {
  const write = (f: string, s: string) => (fs.writeFileSync(path.join(dir, f), s), path.join(dir, f));
  const file = path.join(dir, `${name}.conf`);
  fs.writeFileSync(
    file,
    `pg_host = ${db.host}\npg_port = ${db.port}\npg_user = ${ROLE}\npg_password = ${password}\npg_database = ${db.database}\n` +
      `prefix = ${path.join(dir, name)}\nnode_name = ${name}\nlog_level = debug\n` +
      `proxy_listen = 127.0.0.1:${ports.proxy}, 127.0.0.1:${ports.proxy + 1} ssl\nadmin_listen = 127.0.0.1:${ports.admin}\ncluster_listen = 127.0.0.1:${ports.cluster}\n` +
      `ssl_cert = ${write('ssl.crt', ssl.cert)}\nssl_cert_key = ${write('ssl.key', ssl.key)}\n` +
      `cluster_cert = ${write('cluster.crt', clusterPair.cert)}\ncluster_cert_key = ${write('cluster.key', clusterPair.key)}\n${extra}`,
  );
  return file;
}

async function ports() {
  // proxy + 1 is the TLS listener: find a free pair.
  for (;;) {
    const proxy = await freePort();
    const free = await new Promise<boolean>((r) => {
      const s = net.createServer().once('error', () => r(false)).listen(proxy + 1, '127.0.0.1', () => s.close(() => r(true)));
    });
    if (free) return { proxy, admin: await freePort(), cluster: await freePort() };
  }
}

const start = (file: string, env: NodeJS.ProcessEnv = {}) => startNodeProcess(file, children, env);

beforeAll(async () => {
  db = await testDatabase('secrets');
  // A role of its own, so that pg_password is a value only this test knows.
  const admin = new pg.Client({ host: db.host, port: db.port, user: db.user, password: db.password, database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${PG_PASSWORD}'`);
  await admin.query(`ALTER DATABASE ${db.database} OWNER TO ${ROLE}`);
  await admin.end();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-secrets-'));
  upstream = http.createServer((req, res) => res.end(JSON.stringify({ path: req.url })));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamPort = (upstream.address() as net.AddressInfo).port;
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  upstream?.close();
});

/** Every secret found in `text`, by name. */
function leaks(text: string): string[] {
  return Object.entries(secrets).filter(([, v]) => text.includes(v)).map(([k]) => k);
}

test('no secret in any log line, in GET / or in an error body', async () => {
  const boot = await runCli(['migrations', 'bootstrap', '-c', conf('boot', await ports())]);
  expect(boot.code, boot.stderr).toBe(0);
  const sql = new pg.Client({ host: db.host, port: db.port, user: ROLE, password: PG_PASSWORD, database: db.database });
  await sql.connect();
  secrets.cluster_secret = (await sql.query(`SELECT value FROM cluster_settings WHERE key = 'cluster_secret'`)).rows[0].value as string;

  const p = await ports();
  const node = start(conf('n1', p));
  const adminUrl = `http://127.0.0.1:${p.admin}`;
  await until('the Admin API', async () => ((await fetch(`${adminUrl}/status`).catch(() => null))?.ok ? true : undefined), 60_000).catch((err: Error) => {
    // The node's own words say why it never answered (a port taken, a start that hung).
    throw new Error(`${err.message}; exit code ${node.child.exitCode}; the node's output:\n${node.output().slice(-4000)}`);
  });
  /** Error answers: what was sent (the secrets are in it on purpose) and the body that came back. */
  const bodies: { sent: string; body: string }[] = [];
  const call = async (method: string, url: string, body?: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const r = await fetch(url, { method, headers: body ? { 'content-type': 'application/json', ...headers } : headers, body: body ? JSON.stringify(body) : undefined });
    const text = await r.text();
    if (r.status >= 400) bodies.push({ sent: `${method} ${url} → ${r.status}`, body: text });
    return { status: r.status, text };
  };

  // Credentials through the Admin API; the hash is what the database holds.
  expect((await call('POST', `${adminUrl}/services`, { name: 'echo', url: `http://127.0.0.1:${upstreamPort}` })).status).toBe(201);
  expect((await call('POST', `${adminUrl}/services/echo/routes`, { name: 'key', paths: ['/key'] })).status).toBe(201);
  expect((await call('POST', `${adminUrl}/services/echo/routes`, { name: 'basic', paths: ['/basic'] })).status).toBe(201);
  expect((await call('POST', `${adminUrl}/routes/key/plugins`, { name: 'key-auth' })).status).toBe(201);
  expect((await call('POST', `${adminUrl}/routes/basic/plugins`, { name: 'basic-auth' })).status).toBe(201);
  expect((await call('POST', `${adminUrl}/consumers`, { username: 'alice' })).status).toBe(201);
  expect((await call('POST', `${adminUrl}/consumers/alice/key-auth`, { key: API_KEY })).status).toBe(201);
  const basic = await call('POST', `${adminUrl}/consumers/alice/basic-auth`, { username: 'alice', password: BASIC_PASSWORD });
  expect(basic.status).toBe(201);
  secrets.basic_auth_hash = (JSON.parse(basic.text) as { password: string }).password;
  expect(secrets.basic_auth_hash).not.toBe(BASIC_PASSWORD);
  expect((await call('POST', `${adminUrl}/services/echo/routes`, { name: 'jwt', paths: ['/jwt'] })).status).toBe(201);
  expect((await call('POST', `${adminUrl}/services/echo/routes`, { name: 'hmac', paths: ['/hmac'] })).status).toBe(201);
  expect((await call('POST', `${adminUrl}/routes/jwt/plugins`, { name: 'jwt' })).status).toBe(201);
  expect((await call('POST', `${adminUrl}/routes/hmac/plugins`, { name: 'hmac-auth' })).status).toBe(201);
  expect((await call('POST', `${adminUrl}/consumers/alice/jwt`, { key: 'alice-iss', secret: JWT_SECRET })).status).toBe(201);
  expect((await call('POST', `${adminUrl}/consumers/alice/hmac-auth`, { username: 'alice-hmac', secret: HMAC_SECRET })).status).toBe(201);

  // The right credentials work (so the wrong ones below are judged by a working node).
  const proxy = `http://127.0.0.1:${p.proxy}`;
  expect((await call('GET', `${proxy}/key`, undefined, { apikey: API_KEY })).status).toBe(200);
  const auth = (u: string, pw: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${pw}`).toString('base64')}` });
  expect((await call('GET', `${proxy}/basic`, undefined, auth('alice', BASIC_PASSWORD))).status).toBe(200);
  const token = encodeJwt({ iss: 'alice-iss' }, JWT_SECRET);
  expect((await call('GET', `${proxy}/jwt`, undefined, { authorization: `Bearer ${token}` })).status).toBe(200);
  const date = new Date().toUTCString();
  const hmacAuth = (secret: string) => `hmac username="alice-hmac", algorithm="hmac-sha256", headers="date", signature="${createHmac('sha256', secret).update(`date: ${date}`).digest('base64')}"`;
  expect((await call('GET', `${proxy}/hmac`, undefined, { date, authorization: hmacAuth(HMAC_SECRET) })).status).toBe(200);
  await call('GET', `${proxy}/jwt`, undefined, { authorization: `Bearer ${encodeJwt({ iss: 'alice-iss' }, `${JWT_SECRET}-wrong`)}` });
  await call('GET', `${proxy}/hmac`, undefined, { date, authorization: hmacAuth(`${HMAC_SECRET}-wrong`) });
  await call('POST', `${adminUrl}/consumers/alice/jwt`, { key: 'alice-iss', secret: JWT_SECRET, algorithm: 'RS256' });
  await call('POST', `${adminUrl}/consumers/alice/hmac-auth`, { username: 'alice-hmac', secret: HMAC_SECRET, extra: 1 });

  // Wrong and misplaced credentials, credentials in bad requests, errors of the Admin API.
  await call('GET', `${proxy}/key?apikey=${API_KEY}x`);
  await call('GET', `${proxy}/key`, undefined, { apikey: `${API_KEY}-unknown` });
  await call('GET', `${proxy}/basic`, undefined, auth('alice', `${BASIC_PASSWORD}-wrong`));
  await call('GET', `${proxy}/basic`, undefined, auth('nobody', BASIC_PASSWORD));
  await call('GET', `${proxy}/nowhere?apikey=${API_KEY}`, undefined, auth('alice', BASIC_PASSWORD));
  for (const payload of [
    `GET /key?apikey=${API_KEY} HTTP/1.1\r\nHost: a\r\nBad Header: ${API_KEY}\r\n\r\n`,
    `GET /basic HTTP/1.1\r\nHost: a\r\nAuthorization: Basic ${Buffer.from(`alice:${BASIC_PASSWORD}`).toString('base64')}\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n`,
    `GET /key?apikey=${API_KEY}&${'a'.repeat(40_000)} HTTP/1.1\r\nHost: a\r\n\r\n`,
  ]) {
    const r = await rawRequest(p.proxy, payload);
    bodies.push({ sent: payload.slice(0, 80), body: r.data });
  }
  await call('POST', `${adminUrl}/consumers/nobody/basic-auth`, { username: 'x', password: BASIC_PASSWORD });
  await call('POST', `${adminUrl}/consumers/alice/basic-auth`, { username: 'alice', password: BASIC_PASSWORD });
  await call('POST', `${adminUrl}/consumers/alice/key-auth`, { key: API_KEY, ttl: 'soon' });
  await call('POST', `${adminUrl}/consumers/alice/basic-auth`, { password: BASIC_PASSWORD, extra: 1 });
  // Kong's 409 for a key taken repeats the value the caller just sent (and nothing stored).
  const dup = await call('POST', `${adminUrl}/consumers/alice/key-auth`, { key: API_KEY });
  expect(dup.status).toBe(409);
  bodies.pop();
  // A database error: a NUL byte Postgres refuses in text (22021), with a password next to it.
  await call('POST', `${adminUrl}/consumers/alice/basic-auth`, { username: `bob\u0000`, password: BASIC_PASSWORD });
  await call('PATCH', `${adminUrl}/consumers/alice`, { username: `x\u0000${BASIC_PASSWORD}` });

  const root = await call('GET', `${adminUrl}/`);
  const configuration = (JSON.parse(root.text) as { configuration: Record<string, unknown> }).configuration;
  // Kong shows the sensitive keys as ******, not their values.
  expect(configuration.pg_password).toBe('******');
  expect(configuration.ssl_cert_key).toBe('******');
  expect(configuration.cluster_cert_key).toBe('******');

  // A node whose password Postgres refuses: its error names the problem, not the password.
  const wrong = start(conf('wrong', await ports(), WRONG_PG_PASSWORD));
  expect(await wrong.exited).toBe(1);
  expect(wrong.output()).toMatch(/password authentication failed/);
  // A private key given as text but not quite PEM (its BEGIN line lost): the start error does
  // not repeat it.
  const cut = ssl.key.split('\n').slice(1).join('\n');
  const badKey = start(conf('badkey', await ports()), { GOSSAMER_SSL_CERT_KEY: cut });
  expect(await badKey.exited).toBe(1);
  expect(badKey.output()).toMatch(/ssl_cert_key/);

  const stop = await runCli(['stop', '-p', path.join(dir, 'n1')]);
  expect(stop.code, stop.stderr).toBe(0);
  await node.exited;

  // A control plane (started once the first node is gone: it would join its cluster first) derives the private-network key of hybrid mode from cluster_cert_key.
  const psk = new TextDecoder().decode(loadClusterIdentity(path.join(dir, 'cluster.crt'), path.join(dir, 'cluster.key')).psk);
  secrets.cluster_key = psk.trim().split('\n').pop()!;
  const cpPorts = await ports();
  const cp = start(conf('cp', cpPorts, PG_PASSWORD, 'cluster_role = control_plane\n'));
  await until('the control plane', async () => ((await fetch(`http://127.0.0.1:${cpPorts.admin}/status`).catch(() => null))?.ok ? true : undefined), 60_000, cp.output);
  const cpRoot = await call('GET', `http://127.0.0.1:${cpPorts.admin}/`);
  expect(leaks(cpRoot.text), 'GET / of the control plane').toEqual([]);
  expect((await runCli(['stop', '-p', path.join(dir, 'cp')])).code).toBe(0);
  await cp.exited;
  expect(cp.output()).toMatch(/cluster key derived from cluster_cert_key/);
  await sql.end();

  const logs = node.output() + cp.output() + wrong.output() + badKey.output() + boot.stdout + boot.stderr + stop.stdout + stop.stderr;
  expect(logs).toMatch(/"level":20/); // debug lines were written, so they were searched too
  expect(leaks(root.text), 'GET /').toEqual([]);
  for (const b of bodies) expect(leaks(b.body), `${b.sent}: ${b.body.slice(0, 500)}`).toEqual([]);
  const leaky = logs.split('\n').filter((l) => leaks(l).length > 0);
  expect(leaky.map((l) => `${leaks(l).join(', ')}: ${l.slice(0, 400)}`)).toEqual([]);
}, 240_000);
