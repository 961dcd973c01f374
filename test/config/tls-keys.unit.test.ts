// The ssl_* listener keys: Kong's names and defaults (kong/templates/kong_defaults.lua), a wrong
// value named with what is allowed, and the settings each ssl_cipher_suite gives
// (Kong's CIPHER_SUITES in kong/conf_loader/constants.lua, applied as kong/conf_loader/parse.lua does).
import { describe, expect, test } from 'vitest';
import { constants } from 'node:crypto';
import { loadConfig } from '../../src/config/index.ts';
import { CIPHER_SUITES, secureContextOptions, tlsContextSettings } from '../../src/proxy/tls-settings.ts';

const load = (overrides: Record<string, string>) => loadConfig({ env: {}, file: '/dev/null', overrides });

describe('ssl_* keys', () => {
  test("Kong's defaults", () => {
    const { config, errors } = load({});
    expect(errors).toEqual([]);
    expect(config).toMatchObject({
      ssl_cipher_suite: 'intermediate',
      ssl_ciphers: '',
      ssl_protocols: ['TLSv1.2', 'TLSv1.3'],
      ssl_prefer_server_ciphers: true,
      ssl_session_tickets: true,
      ssl_session_timeout: 86_400_000,
      ssl_session_cache_size: 10 * 1024 * 1024,
    });
  });

  test('a wrong value names the key and what is allowed', () => {
    const { errors } = load({
      ssl_cipher_suite: 'fips',
      ssl_protocols: 'TLSv1.2 SSLv3',
      ssl_ciphers: 'NO-SUCH-CIPHER',
      ssl_prefer_server_ciphers: 'sometimes',
      ssl_session_tickets: 'maybe',
      ssl_session_timeout: 'forever',
      ssl_session_cache_size: '10x',
    });
    const of = (k: string) => errors.find((e) => e.startsWith(`${k} `));
    expect(errors).toHaveLength(7);
    expect(of('ssl_cipher_suite')).toBe("ssl_cipher_suite = 'fips' is invalid (from command line): allowed: modern, intermediate, old or custom");
    expect(of('ssl_protocols')).toBe("ssl_protocols = 'TLSv1.2 SSLv3' is invalid (from command line): unknown protocol 'SSLv3'; allowed: space-separated, from TLSv1, TLSv1.1, TLSv1.2 and TLSv1.3");
    expect(of('ssl_ciphers')).toMatch(/^ssl_ciphers = 'NO-SUCH-CIPHER' is invalid .*OpenSSL knows no cipher in this list.*allowed: an OpenSSL cipher list/);
    expect(of('ssl_prefer_server_ciphers')).toMatch(/'sometimes'.*allowed: on or off$/);
    expect(of('ssl_session_tickets')).toMatch(/'maybe'.*allowed: on or off$/);
    expect(of('ssl_session_timeout')).toMatch(/'forever'.*expected a time.*allowed: a time: 1d/);
    expect(of('ssl_session_cache_size')).toMatch(/'10x'.*expected a size/);
    expect(load({ ssl_protocols: '' }).errors[0]).toMatch(/^ssl_protocols = '' is invalid .*expected at least one protocol/);
  });

  test('ssl_protocols, ssl_ciphers and ssl_prefer_server_ciphers outside custom are ignored with a warning, as Kong ignores them', () => {
    const { warnings, config } = load({ ssl_protocols: 'TLSv1.3', ssl_ciphers: 'AES128-SHA' });
    expect(warnings).toEqual([
      'ssl_protocols is ignored with ssl_cipher_suite = intermediate (the suite sets it); set ssl_cipher_suite = custom to use it',
      'ssl_ciphers is ignored with ssl_cipher_suite = intermediate (the suite sets it); set ssl_cipher_suite = custom to use it',
    ]);
    expect(tlsContextSettings(config)).toMatchObject({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', ciphers: CIPHER_SUITES.intermediate.ciphers });
    expect(load({ ssl_cipher_suite: 'custom', ssl_protocols: 'TLSv1.3' }).warnings).toEqual([]);
  });

  test('each suite sets protocols, ciphers and cipher order as Kong does', () => {
    const of = (suite: string) => tlsContextSettings(load({ ssl_cipher_suite: suite }).config);
    expect(of('modern')).toMatchObject({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: null, honorCipherOrder: false });
    expect(of('intermediate')).toMatchObject({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', honorCipherOrder: false });
    expect(of('intermediate').ciphers!.split(':')).toHaveLength(9);
    expect(of('old')).toMatchObject({ minVersion: 'TLSv1', maxVersion: 'TLSv1.3', honorCipherOrder: true });
    expect(of('old').ciphers).toMatch(/:DES-CBC3-SHA:@SECLEVEL=0$/);
  });

  test('custom: the keys as set; a gap in ssl_protocols disables that version; tickets off', () => {
    const { config } = load({ ssl_cipher_suite: 'custom', ssl_protocols: 'TLSv1.1 TLSv1.3', ssl_prefer_server_ciphers: 'off', ssl_session_tickets: 'off', ssl_session_timeout: '5m' });
    const s = tlsContextSettings(config);
    expect(s).toMatchObject({ minVersion: 'TLSv1.1', maxVersion: 'TLSv1.3', disabled: ['TLSv1.2'], ciphers: null, honorCipherOrder: false, sessionTimeout: 300 });
    const o = secureContextOptions(s);
    expect(o.secureOptions! & constants.SSL_OP_NO_TLSv1_2).toBeTruthy();
    expect(o.secureOptions! & constants.SSL_OP_NO_TICKET).toBeTruthy();
    expect(o.ticketKeys).toBeUndefined();
    expect(secureContextOptions(tlsContextSettings(load({}).config)).ticketKeys).toHaveLength(48);
  });
});
