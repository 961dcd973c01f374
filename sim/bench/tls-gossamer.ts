// bench:tls's gossamer side: the proxy with an `ssl` listener, built from a snapshot made here
// (as proxy-gossamer.ts does for bench:proxy): one route to the upstream, and a certificate
// with `snis` SNI names (sni-0.bench.test … sni-<n-1>.bench.test) beside the listener's own
// default certificate, HTTP/2 offered by ALPN beside HTTP/1.1. Session tickets off: every
// handshake the client makes is a full one.
// Usage: tls-gossamer.ts <listenPort> <upstreamPort> <certFile> <keyFile> <snis>
import '../../src/polyfill.ts';
import fs from 'node:fs';
import { createLogger } from '../../src/log.ts';
import { createProxyServer } from '../../src/proxy/server.ts';
import { tlsContextSettings } from '../../src/proxy/tls-settings.ts';
import { defaultsOf } from '../../src/config/key.ts';
import { tlsKeys } from '../../src/config/keys/tls.ts';
import { benchSnapshot } from './proxy-snapshot.ts';

const [listenS, upstreamS, certFile, keyFile, snisS] = process.argv.slice(2);
const cert = fs.readFileSync(certFile!, 'utf8');
const key = fs.readFileSync(keyFile!, 'utf8');
const certId = '66666666-6666-4666-8666-666666666666';
const snap = {
  ...benchSnapshot(Number(upstreamS), 'none'),
  certificates: [{ id: certId, cert, key, cert_alt: null, key_alt: null, tags: null, created_at: 1, updated_at: 1 }],
  snis: Array.from({ length: Number(snisS) }, (_, i) => ({
    id: `77777777-7777-4777-8777-${String(i).padStart(12, '0')}`,
    name: `sni-${i}.bench.test`,
    certificate: { id: certId },
    tags: null,
    created_at: 1,
    updated_at: 1,
  })),
};
// Kong's defaults but tickets off (defaultTlsContextSettings() has them on).
const settings = tlsContextSettings({ ...defaultsOf(tlsKeys), ssl_session_tickets: false });
const proxy = await createProxyServer({ snapshot: snap, logger: createLogger('bench', 'warn'), tls: { cert: [cert], key: [key], settings } });
await proxy.listen(Number(listenS), '127.0.0.1', true, { http2: true });
process.on('message', async (m) => {
  if (m === 'stop') {
    await proxy.close();
    process.exit(0);
  }
});
process.send!('ready');
