import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { defaultSettings, settingsFromConfig, type MembershipConfig } from '../../src/cluster/settings.ts';
import { loadConfig } from '../../src/config/index.ts';
import { DEFAULT_BODY_BUFFER_SIZE } from '../../src/proxy/server.ts';

function confFile(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-conf-'));
  const file = path.join(dir, 'gossamer.conf');
  fs.writeFileSync(file, text);
  return file;
}

describe('configuration', () => {
  test("an empty value is unset, as in Kong (kong.conf.default's `#pg_pool_size =` uncommented)", () => {
    const { config, errors } = loadConfig({ env: { KONG_PG_PORT: '' }, file: confFile('pg_pool_size =\npg_timeout = \nlog_level = debug\n') });
    expect(errors).toEqual([]);
    expect(config.pg_pool_size).toBe(loadConfig({ env: {}, file: confFile('') }).config.pg_pool_size);
    expect(config.pg_port).toBe(5432);
    expect(config.log_level).toBe('debug');
  });

  test('defaults are Kong\'s, or the documented Gossamer ones', () => {
    const { config, errors } = loadConfig({ env: {}, file: confFile('') });
    expect(errors).toEqual([]);
    expect(config.database).toBe('postgres');
    expect(config.pg_host).toBe('127.0.0.1');
    expect(config.pg_port).toBe(5432);
    expect(config.pg_user).toBe('gossamer');
    expect(config.pg_ssl).toBe(false);
    expect(config.proxy_listen).toEqual([{ host: '0.0.0.0', port: 8000, flags: [] }]);
    expect(config.admin_listen).toEqual([{ host: '127.0.0.1', port: 8001, flags: [] }]);
    expect(config.cluster_listen[0]!.port).toBe(8005);
    expect(config.cluster_role).toBe('traditional');
    expect(config.db_update_frequency).toBe(5);
    expect(config.db_cache_ttl).toBe(0);
    expect(config.worker_processes).toBe('auto');
    expect(config.node_name).toBe(`${os.hostname()}-8005`);
  });

  test('kong.conf format: comments, on/off, escaped #, lists, Kong flags on listen', () => {
    const file = confFile(`# a comment
database = postgres   # trailing comment
pg_password = se\\#cret
pg_ssl = on
proxy_listen = 0.0.0.0:9000 reuseport backlog=16384, 127.0.0.1:9443 http2 ssl
cluster_peers = 10.0.0.2:8005, 10.0.0.3:8005
`);
    const { config, errors } = loadConfig({ env: {}, file });
    expect(errors).toEqual([]);
    expect(config.pg_password).toBe('se#cret');
    expect(config.pg_ssl).toBe(true);
    expect(config.proxy_listen).toEqual([
      { host: '0.0.0.0', port: 9000, flags: ['reuseport', 'backlog=16384'] },
      { host: '127.0.0.1', port: 9443, flags: ['http2', 'ssl'] },
    ]);
    expect(config.cluster_peers).toEqual(['10.0.0.2:8005', '10.0.0.3:8005']);
  });

  test('precedence: flag > GOSSAMER_ > KONG_ > file > default', () => {
    const file = confFile('pg_host = from-file\npg_user = from-file\npg_database = from-file\nprefix = /from-file\n');
    const { config, sources } = loadConfig({
      file,
      prefix: '/from-flag',
      env: { KONG_PG_HOST: 'kong-env', GOSSAMER_PG_HOST: 'gossamer-env', KONG_PG_USER: 'kong-env', KONG_PREFIX: '/kong-env' },
    });
    expect(config.pg_host).toBe('gossamer-env');
    expect(config.pg_user).toBe('kong-env');
    expect(config.pg_database).toBe('from-file');
    expect(config.prefix).toBe('/from-flag');
    expect(config.pg_port).toBe(5432);
    expect(sources.pg_host).toBe('GOSSAMER_');
    expect(sources.pg_port).toBe('default');
  });

  test('every problem is listed, one line each, naming key, value and what is allowed', () => {
    const file = confFile(`pg_port = abc
proxy_listen = 0.0.0.0:99999
admin_listen = nonsense
cluster_role = leader
pg_ssl = maybe
worker_processes = many
no_such_key = 1
`);
    const { errors, warnings } = loadConfig({ env: {}, file });
    expect(errors).toHaveLength(6);
    expect(errors.find((e) => e.startsWith('pg_port'))).toMatch(/pg_port = 'abc' is invalid.*allowed: 1-65535/);
    expect(errors.find((e) => e.startsWith('proxy_listen'))).toMatch(/'0\.0\.0\.0:99999'.*out of range 1-65535/);
    expect(errors.find((e) => e.startsWith('admin_listen'))).toMatch(/expected host:port/);
    expect(errors.find((e) => e.startsWith('cluster_role'))).toMatch(/'leader'.*allowed: traditional, control_plane or data_plane/);
    expect(errors.find((e) => e.startsWith('pg_ssl'))).toMatch(/'maybe'.*allowed: on or off/);
    expect(errors.find((e) => e.startsWith('worker_processes'))).toMatch(/'many'.*auto/);
    expect(warnings).toEqual([expect.stringMatching(/unknown configuration key 'no_such_key'/)]);
  });

  test('an environment value that is wrong names the variable it came from', () => {
    const { errors } = loadConfig({ env: { KONG_PG_PORT: '70000' }, file: confFile('') });
    expect(errors).toEqual([expect.stringMatching(/pg_port = '70000' is invalid \(from KONG_PG_PORT\)/)]);
  });

  test('Kong\'s hybrid-mode start-up rules', () => {
    const dp = loadConfig({ env: {}, file: confFile('cluster_role = data_plane\n') });
    expect(dp.errors).toContain("cluster_role = 'data_plane' requires database = off (data planes get their configuration from a control plane)");
    const dp2 = loadConfig({ env: {}, file: confFile('cluster_role = data_plane\ndatabase = off\n') });
    expect(dp2.errors.join('\n')).toMatch(/requires cluster_cert /);
    expect(dp2.errors.join('\n')).toMatch(/requires cluster_cert_key/);
  });

  test('nginx_worker_processes is Kong\'s name for worker_processes', () => {
    const { config } = loadConfig({ env: { KONG_NGINX_WORKER_PROCESSES: '3' }, file: confFile('') });
    expect(config.worker_processes).toBe(3);
  });

  test('nginx body sizes: bytes or k/m/g, Kong\'s defaults, and a clear error otherwise', () => {
    const d = loadConfig({ env: {}, file: confFile('') }).config;
    expect([d.nginx_http_client_max_body_size, d.nginx_http_client_body_buffer_size]).toEqual([0, 8192]);
    const set = loadConfig({ env: { KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE: '10M' }, file: confFile('nginx_http_client_body_buffer_size = 512\n') }).config;
    expect([set.nginx_http_client_max_body_size, set.nginx_http_client_body_buffer_size]).toEqual([10 * 1024 * 1024, 512]);
    const { errors } = loadConfig({ env: {}, file: confFile('nginx_http_client_max_body_size = 10mb\nnginx_http_client_body_buffer_size = 0\n') });
    expect(errors).toHaveLength(2);
    expect(errors.find((e) => e.startsWith('nginx_http_client_max_body_size'))).toMatch(/'10mb' is invalid.*allowed: a size/);
    expect(errors.find((e) => e.startsWith('nginx_http_client_body_buffer_size'))).toMatch(/'0' is invalid.*at least 1/);
  });

  test('Kong\'s `role` / KONG_ROLE is cluster_role', () => {
    const { config } = loadConfig({ env: { KONG_ROLE: 'control_plane' }, file: confFile('') });
    expect(config.cluster_role).toBe('control_plane');
  });

  test('membership timings are the cluster_* keys: their defaults are defaultSettings, a set key reaches startCluster\'s settings', () => {
    const d = loadConfig({ env: {}, file: confFile('') }).config;
    expect(settingsFromConfig(d)).toEqual(defaultSettings);
    expect(defaultSettings.probe_interval_ms).toBe(250);
    const set = loadConfig({ env: { GOSSAMER_CLUSTER_SUSPICION_MULT: '6' }, file: confFile('cluster_probe_interval = 400\n') }).config;
    expect(settingsFromConfig(set)).toMatchObject({ probe_interval_ms: 400, suspicion_mult: 6 });
    const c: MembershipConfig = d;
    // @ts-expect-error a misspelt key is a type error (tsc checks test/), not a silent default
    expect(c.cluster_probe_intervall).toBeUndefined();
  });

  test("the proxy's own body buffer default is nginx_http_client_body_buffer_size's declared default", () => {
    // The proxy keeps the number itself so its workers boot without the configuration schema.
    expect(loadConfig({ env: {}, file: confFile('') }).config.nginx_http_client_body_buffer_size).toBe(DEFAULT_BODY_BUFFER_SIZE);
  });
});
