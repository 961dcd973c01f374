// trusted_ips, real_ip_header, real_ip_recursive and port_maps as kong.conf writes them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';

function load(text: string, env: Record<string, string> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-conf-'));
  const file = path.join(dir, 'gossamer.conf');
  fs.writeFileSync(file, text);
  return loadConfig({ env, file });
}

describe('client address keys', () => {
  test("Kong's defaults: no trusted peer, X-Real-IP, not recursive, no port map", () => {
    const { config, errors } = load('');
    expect(errors).toEqual([]);
    expect([config.trusted_ips, config.real_ip_header, config.real_ip_recursive, config.port_maps]).toEqual([[], 'x-real-ip', false, {}]);
  });

  test('addresses, CIDR blocks of both families, trust-all and unix: are taken', () => {
    const { config, errors } = load('trusted_ips = 0.0.0.0/0,::/0, 10.0.0.0/8 ,fd00::1, 192.168.1.7,unix:\nreal_ip_header = X-Forwarded-For\nreal_ip_recursive = on\n');
    expect(errors).toEqual([]);
    expect(config.trusted_ips).toEqual(['0.0.0.0/0', '::/0', '10.0.0.0/8', 'fd00::1', '192.168.1.7', 'unix:']);
    expect([config.real_ip_header, config.real_ip_recursive]).toEqual(['x-forwarded-for', true]);
    expect(load('real_ip_header = proxy_protocol\n').config.real_ip_header).toBe('proxy_protocol');
  });

  test("a wrong value names the key, with Kong's message for trusted_ips and port_maps", () => {
    const { errors } = load('trusted_ips = 10.0.0.0/33\nreal_ip_header = X Real\nreal_ip_recursive = maybe\nport_maps = 80-8000\n');
    expect(errors).toHaveLength(4);
    expect(errors.find((e) => e.startsWith('trusted_ips'))).toContain(
      "trusted_ips must be a comma separated list in the form of IPv4 or IPv6 address or CIDR block or 'unix:', got '10.0.0.0/33'",
    );
    expect(errors.find((e) => e.startsWith('real_ip_header'))).toMatch(/'X Real' is not a header name/);
    expect(errors.find((e) => e.startsWith('real_ip_recursive'))).toMatch(/allowed: on or off/);
    expect(errors.find((e) => e.startsWith('port_maps'))).toContain('invalid port mapping (`port_maps`): 80-8000');
    expect(load('trusted_ips = example.com\n').errors[0]).toContain("got 'example.com'");
  });

  test("port_maps maps the proxy's port to the host's; Kong's nginx_proxy_* names are taken", () => {
    const { config, errors } = load('port_maps = 80:8000, 443:8443\n', { KONG_NGINX_PROXY_REAL_IP_HEADER: 'CF-Connecting-IP', KONG_NGINX_PROXY_REAL_IP_RECURSIVE: 'on' });
    expect(errors).toEqual([]);
    expect(config.port_maps).toEqual({ 8000: 80, 8443: 443 });
    expect([config.real_ip_header, config.real_ip_recursive]).toEqual(['cf-connecting-ip', true]);
  });
});
