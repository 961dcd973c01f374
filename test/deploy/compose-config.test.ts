// docker-compose.yml, deploy/nginx.conf and the Dockerfile, checked without a Docker engine:
// `docker-compose config` validates and resolves the file, and every node's environment goes
// through the real config loader, so a misspelt KONG_* key fails here, not in a user's terminal.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import YAML from 'yaml';
import { loadConfig } from '../../src/config/index.ts';
import { aliases, keyDef } from '../../src/config/schema.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  environment?: Record<string, string | number | null>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  ports?: { published: number | string; target: number }[];
  volumes?: ({ source: string; target: string } | string)[];
}

function composeConfig(): { services: Record<string, Service> } {
  const r = spawnSync('docker-compose', ['-f', path.join(ROOT, 'docker-compose.yml'), 'config'], { encoding: 'utf8', cwd: ROOT });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error('docker-compose is not installed: install it with `apt-get install -y docker-compose` (Debian package); this test validates docker-compose.yml with `docker-compose config`');
  }
  if (r.status !== 0) throw new Error(`docker-compose config failed:\n${r.stderr}`);
  return YAML.parse(r.stdout);
}

/**
 * Problems with a service's environment as a node would load it: loader errors, plus
 * KONG_* / GOSSAMER_* names that are no configuration key (the loader ignores those
 * silently because a real environment holds much else).
 */
function environmentProblems(env: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const name of Object.keys(env)) {
    const m = /^(KONG|GOSSAMER)_(.+)$/.exec(name);
    if (!m) continue;
    const k = m[2]!.toLowerCase();
    if (!keyDef(aliases[k] ?? k)) problems.push(`${name}: unknown configuration key '${k}'`);
  }
  const r = loadConfig({ env, file: '/dev/null' });
  problems.push(...r.errors);
  return problems;
}

function envOf(s: Service): Record<string, string> {
  return Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, v == null ? '' : String(v)]));
}

const compose = composeConfig();
const services = compose.services;
const nodeNames = Object.keys(services).filter((n) => /node\d+$/.test(n));

test('the file is valid for docker-compose and has the tutorial\'s services', () => {
  expect(nodeNames).toHaveLength(3);
  expect(Object.keys(services)).toEqual(expect.arrayContaining(['gossamer-db', 'gossamer-migrations', 'nginx']));
});

test('Postgres 13 with a pg_isready healthcheck, and credentials the nodes use', () => {
  const db = services['gossamer-db']!;
  expect(db.image).toBe('postgres:13');
  expect(db.healthcheck?.test).toEqual(['CMD', 'pg_isready', '-U', db.environment!.POSTGRES_USER]);
  for (const name of [...nodeNames, 'gossamer-migrations']) {
    const c = loadConfig({ env: envOf(services[name]!), file: '/dev/null' }).config;
    expect(c.pg_host, name).toBe('gossamer-db');
    expect(c.pg_user, name).toBe(db.environment!.POSTGRES_USER);
    expect(c.pg_password, name).toBe(db.environment!.POSTGRES_PASSWORD);
    expect(c.pg_database, name).toBe(db.environment!.POSTGRES_DB);
    expect(c.database, name).toBe('postgres');
  }
});

test('a one-shot migrations bootstrap runs after Postgres is healthy, and nodes wait for it', () => {
  const m = services['gossamer-migrations']!;
  const cmd = Array.isArray(m.command) ? m.command.join(' ') : m.command;
  expect(cmd).toBe('gossamer migrations bootstrap');
  expect(m.depends_on?.['gossamer-db']?.condition).toBe('service_healthy');
  for (const n of nodeNames) {
    expect(services[n]!.depends_on?.['gossamer-migrations']?.condition, n).toBe('service_completed_successfully');
  }
});

test('every node\'s environment loads through the config loader with no error and no unknown key', () => {
  for (const name of [...nodeNames, 'gossamer-migrations']) {
    expect(environmentProblems(envOf(services[name]!)), name).toEqual([]);
  }
});

test('the check catches a misspelt key and a bad value', () => {
  const env = envOf(services[nodeNames[0]!]!);
  expect(environmentProblems({ ...env, KONG_PG_HOTS: 'db' })).toEqual(["KONG_PG_HOTS: unknown configuration key 'pg_hots'"]);
  expect(environmentProblems({ ...env, KONG_ADMIN_LISTEN: '0.0.0.0' }).join('\n')).toMatch(/admin_listen/);
});

test('the seed\'s KONG_* names are used as they are, each node advertising its own cluster address', () => {
  const seedNames = ['KONG_DATABASE', 'KONG_PG_HOST', 'KONG_PG_USER', 'KONG_PG_PASSWORD', 'KONG_PROXY_ACCESS_LOG', 'KONG_ADMIN_ACCESS_LOG', 'KONG_PROXY_ERROR_LOG', 'KONG_ADMIN_ERROR_LOG', 'KONG_ADMIN_LISTEN'];
  const advertised = new Set<string>();
  for (const n of nodeNames) {
    const env = envOf(services[n]!);
    expect(Object.keys(env), n).toEqual(expect.arrayContaining(seedNames));
    const c = loadConfig({ env, file: '/dev/null' }).config;
    expect(c.cluster_advertise, n).toEqual({ host: n, port: 8005 });
    expect(c.cluster_listen[0], n).toMatchObject({ host: '0.0.0.0', port: 8005 });
    expect(c.admin_listen[0], n).toMatchObject({ host: '0.0.0.0', port: 8001 });
    expect(c.node_name, n).toBe(n);
    advertised.add(`${c.cluster_advertise && (c.cluster_advertise as { host: string }).host}`);
    expect(services[n]!.ports?.some((p) => p.target === 8001), `${n} publishes its Admin API`).toBe(true);
  }
  expect(advertised.size).toBe(3);
});

test('nginx on :80 with the tutorial\'s upstream block over every node\'s proxy port', () => {
  const nginx = services.nginx!;
  expect(nginx.ports?.map((p) => [Number(p.published), p.target])).toEqual([[80, 80]]);
  const mount = nginx.volumes?.map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`)).find((v) => v.includes('nginx.conf'));
  expect(mount).toMatch(/deploy\/nginx\.conf:\/etc\/nginx\/conf\.d\/default\.conf/);
  const conf = fs.readFileSync(path.join(ROOT, 'deploy/nginx.conf'), 'utf8');
  const upstream = /upstream\s+(\w+)\s*\{([^}]*)\}/.exec(conf);
  expect(upstream).not.toBeNull();
  const servers = [...upstream![2]!.matchAll(/server\s+([\w.-]+):(\d+);/g)].map((m) => `${m[1]}:${m[2]}`);
  expect(servers.sort()).toEqual(nodeNames.map((n) => `${n}:8000`).sort());
  expect(conf).toMatch(/listen 80;/);
  expect(conf).toContain(`proxy_pass http://${upstream![1]};`);
  expect(conf).toContain('proxy_set_header Host $host;');
  expect(conf).toContain('proxy_set_header X-Real-IP $remote_addr;');
});

test('the Dockerfile: official Node 20 image, npm ci, a non-root user, gossamer as entrypoint', () => {
  const df = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  expect(df).toMatch(/^FROM node:20-bookworm-slim$/m);
  expect(df).toMatch(/^RUN npm ci\b/m);
  const user = /^USER (\S+)$/m.exec(df);
  expect(user?.[1]).toBeDefined();
  expect(['root', '0']).not.toContain(user![1]);
  expect(df).toMatch(/^ENTRYPOINT \["docker-entrypoint\.sh"\]$/m);
  const entry = fs.readFileSync(path.join(ROOT, 'deploy/docker-entrypoint.sh'), 'utf8');
  expect(entry).toContain('exec node /app/bin/gossamer.js "$@"');
  // Everything the image copies exists, and what it must not carry is ignored.
  for (const m of df.matchAll(/^COPY (.+) \S+$/gm)) {
    for (const src of m[1]!.split(/\s+/)) expect(fs.existsSync(path.join(ROOT, src)), src).toBe(true);
  }
  const ignored = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n');
  expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.gossamer', '.git']));
});

test('the entrypoint runs gossamer with or without a leading "gossamer"', () => {
  // Run the real script with node replaced by echo, to see the argv it would exec.
  const script = fs.readFileSync(path.join(ROOT, 'deploy/docker-entrypoint.sh'), 'utf8').replace('exec node', 'exec echo node');
  const run = (...args: string[]) => spawnSync('sh', ['-c', script, 'entrypoint', ...args], { encoding: 'utf8' }).stdout.trim();
  expect(run('gossamer', 'migrations', 'bootstrap')).toBe('node /app/bin/gossamer.js migrations bootstrap');
  expect(run('start')).toBe('node /app/bin/gossamer.js start');
});
