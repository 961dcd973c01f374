import { createSecureContext } from 'node:tls';
import { z } from 'zod';
import { choice, duration, key, onOff, size, str } from '../key.ts';

export const TLS_PROTOCOLS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type TlsProtocol = (typeof TLS_PROTOCOLS)[number];

/** nginx's ssl_protocols: space-separated protocol names, at least one. */
const protocols = () =>
  z.string().trim().transform((v, ctx): TlsProtocol[] => {
    const names = v.split(/\s+/).filter(Boolean);
    const unknown = names.filter((n) => !(TLS_PROTOCOLS as readonly string[]).includes(n));
    if (unknown.length || names.length === 0) {
      ctx.addIssue({ code: 'custom', message: unknown.length ? `unknown protocol ${unknown.map((n) => `'${n}'`).join(', ')}` : 'expected at least one protocol' });
      return z.NEVER;
    }
    return TLS_PROTOCOLS.filter((p) => names.includes(p));
  });

/** An OpenSSL cipher string, or empty; OpenSSL itself says whether it names any cipher. */
const cipherString = () =>
  str().superRefine((v, ctx) => {
    if (!v) return;
    try {
      createSecureContext({ ciphers: v });
    } catch {
      ctx.addIssue({ code: 'custom', message: 'OpenSSL knows no cipher in this list (names as `openssl ciphers` prints them, separated by colons)' });
    }
  });

// Kong's names, defaults and meanings (kong.conf.default). As in Kong, ssl_protocols,
// ssl_ciphers and ssl_prefer_server_ciphers apply only with ssl_cipher_suite = custom; the
// other suites set all three (src/proxy/tls-settings.ts).
export const tlsKeys = {
  ssl_cipher_suite: choice(['modern', 'intermediate', 'old', 'custom'], 'intermediate', "TLS settings of the ssl listeners, Mozilla's Server Side TLS 5.7 profiles as Kong has them: modern (TLSv1.3 only), intermediate (TLSv1.2 and TLSv1.3, forward-secret AEAD ciphers), old (TLSv1 to TLSv1.3, Kong's long list, server's cipher order), or custom (ssl_protocols, ssl_ciphers and ssl_prefer_server_ciphers as set). Kong's fips is not offered."),
  ssl_ciphers: key(cipherString(), '', 'an OpenSSL cipher list (colon-separated), or empty', "The TLSv1.2-and-older ciphers offered with ssl_cipher_suite = custom (ignored otherwise, as in Kong). Empty: OpenSSL's default list. TLSv1.3's suites are always all enabled."),
  ssl_protocols: key(protocols(), 'TLSv1.2 TLSv1.3', 'space-separated, from TLSv1, TLSv1.1, TLSv1.2 and TLSv1.3', 'Protocol versions the ssl listeners accept with ssl_cipher_suite = custom (ignored otherwise, as in Kong: the suite sets them). TLSv1 and TLSv1.1 need old-style ciphers: add :@SECLEVEL=0 to ssl_ciphers for them.'),
  ssl_prefer_server_ciphers: onOff('on', "With ssl_cipher_suite = custom: the server's cipher order wins over the client's (ignored otherwise, as in Kong)."),
  ssl_session_tickets: onOff('on', "Session resumption by TLS session tickets. Every worker of a node shares the ticket keys (new ones at each start), so a client resumes on whichever worker takes its next connection. off: sessions are not resumed (Gossamer keeps no server-side session cache)."),
  ssl_session_timeout: key(duration(1000), '1d', 'a time: 1d, 12h, 300s (seconds without a unit); at least 1s', 'How long a session may be resumed after its handshake.'),
  ssl_session_cache_size: key(size(), '10m', 'a size: bytes, or with k, m or g', "Accepted for Kong compatibility: nginx's shared session cache. Gossamer resumes sessions with tickets only, which need no server-side cache."),
};
