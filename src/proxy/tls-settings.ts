// The ssl_* configuration keys turned into node:tls secure-context options, as Kong turns them
// into nginx directives (kong/conf_loader/parse.lua): a suite other than `custom` sets the
// protocols, the ciphers and the cipher-order preference; `custom` takes ssl_protocols,
// ssl_ciphers and ssl_prefer_server_ciphers as they are.
import { constants, randomBytes } from 'node:crypto';
import type { SecureContextOptions, SecureVersion } from 'node:tls';
import { defaultsOf } from '../config/key.ts';
import { tlsKeys, type TlsProtocol } from '../config/keys/tls.ts';

interface Suite {
  protocols: TlsProtocol[];
  ciphers: string | null;
  preferServerCiphers: boolean;
}

// Kong's CIPHER_SUITES (kong/conf_loader/constants.lua, Mozilla Server Side TLS 5.7).
const INTERMEDIATE_CIPHERS =
  'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:' +
  'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:' +
  'DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305';

const OLD_CIPHERS =
  `${INTERMEDIATE_CIPHERS}:` +
  'ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:' +
  'ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:' +
  'DHE-RSA-AES128-SHA256:DHE-RSA-AES256-SHA256:AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA256:' +
  'AES256-SHA256:AES128-SHA:AES256-SHA:DES-CBC3-SHA';

export const CIPHER_SUITES: Record<'modern' | 'intermediate' | 'old', Suite> = {
  // All TLSv1.3 suites are considered safe: the client chooses.
  modern: { protocols: ['TLSv1.3'], ciphers: null, preferServerCiphers: false },
  intermediate: { protocols: ['TLSv1.2', 'TLSv1.3'], ciphers: INTERMEDIATE_CIPHERS, preferServerCiphers: false },
  // Kong's template adds `CipherString DEFAULT:@SECLEVEL=0` for old: OpenSSL 3 refuses
  // TLSv1/TLSv1.1 (their SHA-1 signatures) at its default security level.
  old: { protocols: ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'], ciphers: `${OLD_CIPHERS}:@SECLEVEL=0`, preferServerCiphers: true },
};

/** The ssl_* keys the listeners use (a slice of the Config). */
export interface SslKeys {
  ssl_cipher_suite: 'modern' | 'intermediate' | 'old' | 'custom';
  ssl_ciphers: string;
  ssl_protocols: TlsProtocol[];
  ssl_prefer_server_ciphers: boolean;
  ssl_session_tickets: boolean;
  ssl_session_timeout: number;
}

/**
 * What every ssl listener's secure contexts share; plain data, so the primary can hand it to
 * its workers over IPC. `ticketKeys` (base64) is made once by the primary: every worker then
 * encrypts and decrypts the same session tickets.
 */
export interface TlsContextSettings {
  minVersion: SecureVersion;
  maxVersion: SecureVersion;
  /** Protocols inside [min, max] that are not enabled (nginx allows gaps; OpenSSL has an option per version). */
  disabled: TlsProtocol[];
  ciphers: string | null;
  honorCipherOrder: boolean;
  sessionTickets: boolean;
  /** Seconds. */
  sessionTimeout: number;
  ticketKeys: string;
}

const NO_PROTOCOL: Record<TlsProtocol, number> = {
  TLSv1: constants.SSL_OP_NO_TLSv1,
  'TLSv1.1': constants.SSL_OP_NO_TLSv1_1,
  'TLSv1.2': constants.SSL_OP_NO_TLSv1_2,
  'TLSv1.3': constants.SSL_OP_NO_TLSv1_3,
};
const ORDER: TlsProtocol[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

export function tlsContextSettings(k: SslKeys, ticketKeys: Buffer = randomBytes(48)): TlsContextSettings {
  const suite: Suite =
    k.ssl_cipher_suite === 'custom'
      ? { protocols: k.ssl_protocols, ciphers: k.ssl_ciphers || null, preferServerCiphers: k.ssl_prefer_server_ciphers }
      : CIPHER_SUITES[k.ssl_cipher_suite];
  const enabled = ORDER.filter((p) => suite.protocols.includes(p));
  const min = enabled[0]!;
  const max = enabled.at(-1)!;
  const disabled = ORDER.slice(ORDER.indexOf(min), ORDER.indexOf(max) + 1).filter((p) => !enabled.includes(p));
  return {
    minVersion: min,
    maxVersion: max,
    disabled,
    ciphers: suite.ciphers,
    honorCipherOrder: suite.preferServerCiphers,
    sessionTickets: k.ssl_session_tickets,
    sessionTimeout: Math.max(1, Math.floor(k.ssl_session_timeout / 1000)),
    ticketKeys: ticketKeys.toString('base64'),
  };
}

/** The node:tls options for one secure context (the default certificate's or an SNI's). */
export function secureContextOptions(s: TlsContextSettings): SecureContextOptions {
  let secureOptions = 0;
  for (const p of s.disabled) secureOptions |= NO_PROTOCOL[p];
  if (!s.sessionTickets) secureOptions |= constants.SSL_OP_NO_TICKET;
  return {
    minVersion: s.minVersion,
    maxVersion: s.maxVersion,
    ...(s.ciphers ? { ciphers: s.ciphers } : {}),
    honorCipherOrder: s.honorCipherOrder,
    ...(secureOptions ? { secureOptions } : {}),
    sessionTimeout: s.sessionTimeout,
    ...(s.sessionTickets ? { ticketKeys: Buffer.from(s.ticketKeys, 'base64') } : {}),
  };
}

/** Kong's defaults (intermediate, tickets on, 1 day), for listeners made without a Config (tests, tools). */
export function defaultTlsContextSettings(): TlsContextSettings {
  return tlsContextSettings(defaultsOf(tlsKeys));
}
