// TLS on proxy_listen entries with the `ssl` flag: the default self-signed certificate made
// once under <prefix>/ssl/, configured ssl_cert / ssl_cert_key pairs (files or PEM text),
// Kong's https-only route answers on plain HTTP, X-Forwarded-Proto/Port, and real proxy
// workers listening on a plain and a TLS address at once.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import { freePort } from '../../src/db/embedded.ts';
import { generateClusterCert } from '../../src/hybrid/cert.ts';
import { createLogger } from '../../src/log.ts';
import { startNodeProxy, type NodeProxy } from '../../src/proxy/node-proxy.ts';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { DEFAULT_CERT, DEFAULT_KEY, loadProxyTls } from '../../src/proxy/tls-certs.ts';
import { echoServer, route, service, snapshot, type Echo, type Upstream_ } from '../support/proxy-fixtures.ts';

let prefix: string;
let up: Upstream_;
let proxy: ProxyServer;
let plainPort: number;
let tlsPort: number;
const s = service({ port: 0 });
const snap = () =>
  snapshot({
    services: [s],
    routes: [
      route(s, { paths: ['/any'] }),
      route(s, { paths: ['/secure'], protocols: ['https'] }),
      route(s, { paths: ['/moved'], protocols: ['https'], https_redirect_status_code: 301 }),
    ],
  });

interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  cn: string;
}

function httpsGet(port: number, p: string, servername?: string): Promise<Got> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path: p, rejectUnauthorized: false, agent: false, servername }, (res) => {
        const cn = String((res.socket as TLSSocket).getPeerCertificate().subject?.CN);
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, cn }));
      })
      .on('error', reject);
  });
}

function httpGet(port: number, p: string): Promise<Got> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: p, agent: false, headers: { host: 'api.example:8000' } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, cn: '' }));
      })
      .on('error', reject);
  });
}

beforeAll(async () => {
  prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-tls-'));
  up = await echoServer();
  s.port = up.port;
  proxy = await createProxyServer({ snapshot: snap(), tls: loadProxyTls({ cert: [], key: [], prefix }) });
  plainPort = (await proxy.listen(0, '127.0.0.1')).port;
  tlsPort = (await proxy.listen(0, '127.0.0.1', true)).port;
});

afterAll(async () => {
  await proxy?.close();
  await up?.close();
  fs.rmSync(prefix, { recursive: true, force: true });
});

describe('default certificate', () => {
  test('made once under <prefix>/ssl/ (key readable by its owner only) and reused', () => {
    const certFile = path.join(prefix, 'ssl', DEFAULT_CERT);
    const keyFile = path.join(prefix, 'ssl', DEFAULT_KEY);
    expect(fs.existsSync(certFile)).toBe(true);
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    const again = loadProxyTls({ cert: [], key: [], prefix });
    expect(again.cert[0]).toBe(fs.readFileSync(certFile, 'utf8'));
  });

  test('an ssl listener serves it, and the upstream learns the request came over https', async () => {
    const r = await httpsGet(tlsPort, '/any/x');
    expect(r.status).toBe(200);
    expect(r.cn).toBe('localhost');
    const e = JSON.parse(r.body) as Echo;
    expect(e.headers['x-forwarded-proto']).toBe('https');
    expect(e.headers['x-forwarded-port']).toBe(String(tlsPort));
    const plain = JSON.parse((await httpGet(plainPort, '/any/x')).body) as Echo;
    expect(plain.headers['x-forwarded-proto']).toBe('http');
    expect(plain.headers['x-forwarded-port']).toBe(String(plainPort));
  });
});

describe('https routes', () => {
  test('an https-only route serves over TLS, answers 426 over plain HTTP, or redirects as configured', async () => {
    expect((await httpsGet(tlsPort, '/secure')).status).toBe(200);
    const plain = await httpGet(plainPort, '/secure');
    expect(plain.status).toBe(426);
    expect(JSON.parse(plain.body).message).toBe('Please use HTTPS protocol');
    const moved = await httpGet(plainPort, '/moved/a?b=1');
    expect(moved.status).toBe(301);
    expect(moved.headers.location).toBe('https://api.example/moved/a?b=1');
    expect((await httpsGet(tlsPort, '/moved/a')).status).toBe(200);
  });

  test('plain HTTP spoken to the TLS port loses its connection; the listener keeps serving', async () => {
    await expect(httpGet(tlsPort, '/any')).rejects.toThrow();
    expect((await httpsGet(tlsPort, '/any')).status).toBe(200);
  });
});

describe('WebSocket over TLS', () => {
  test('an upgrade on the ssl listener (https-only route) reaches the upstream as https and both directions flow', async () => {
    const wsUp = http.createServer();
    const socks = new Set<net.Socket>();
    wsUp.on('upgrade', (req, socket: net.Socket) => {
      socks.add(socket);
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Proto: ${req.headers['x-forwarded-proto']}\r\n\r\n`);
      socket.on('data', (d) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
    });
    await new Promise<void>((r) => wsUp.listen(0, '127.0.0.1', () => r()));
    const sw = service({ port: (wsUp.address() as net.AddressInfo).port });
    const p = await createProxyServer({ snapshot: snapshot({ services: [sw], routes: [route(sw, { paths: ['/ws'], protocols: ['https'] })] }), tls: loadProxyTls({ cert: [], key: [], prefix }) });
    try {
      const port = (await p.listen(0, '127.0.0.1', true)).port;
      const sock = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
      sock.write('GET /ws/chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
      let buf = '';
      await new Promise<void>((resolve, reject) => {
        sock.on('error', reject);
        sock.on('end', () => reject(new Error(`connection ended: ${buf.slice(0, 200)}`)));
        sock.on('data', (d) => {
          buf += d;
          if (buf.includes('\r\n\r\n') && !buf.includes('echo:')) sock.write('ping');
          if (buf.includes('echo:ping')) resolve();
        });
      });
      sock.destroy();
      expect(buf).toMatch(/^HTTP\/1\.1 101/);
      expect(buf).toMatch(/x-proto: https/i);
    } finally {
      await p.close();
      for (const x of socks) x.destroy();
      await new Promise<void>((r) => wsUp.close(() => r()));
    }
  });
});

describe('ssl_cert / ssl_cert_key', () => {
  test('configured pairs, as files or PEM text, are served', async () => {
    const pair = generateClusterCert({ commonName: 'api.example' });
    const dir = path.join(prefix, 'own');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'api.crt'), pair.cert);
    fs.writeFileSync(path.join(dir, 'api.key'), pair.key);
    for (const tls of [
      loadProxyTls({ cert: [path.join(dir, 'api.crt')], key: [path.join(dir, 'api.key')], prefix }),
      loadProxyTls({ cert: [pair.cert], key: [pair.key], prefix }),
    ]) {
      const p = await createProxyServer({ snapshot: snap(), tls });
      try {
        const port = (await p.listen(0, '127.0.0.1', true)).port;
        const r = await httpsGet(port, '/any');
        expect(r.status).toBe(200);
        expect(r.cn).toBe('api.example');
      } finally {
        await p.close();
      }
    }
  });

  test('configuration errors name the key and the entry', () => {
    const a = generateClusterCert();
    const b = generateClusterCert();
    expect(() => loadProxyTls({ cert: [a.cert], key: [], prefix })).toThrow(/ssl_cert and ssl_cert_key must list as many entries \(ssl_cert has 1, ssl_cert_key 0\)/);
    expect(() => loadProxyTls({ cert: [a.cert], key: [b.key], prefix })).toThrow(/not a pair/);
    expect(() => loadProxyTls({ cert: ['/nonexistent/x.crt'], key: [a.key], prefix })).toThrow(/ssl_cert: cannot read '\/nonexistent\/x.crt' \(entry 1\): ENOENT/);
  });
});

describe('proxy workers', () => {
  let node: NodeProxy | null = null;
  afterAll(async () => {
    await node?.stop();
  });

  test('every worker listens on the plain and the ssl proxy_listen entry', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    node = await startNodeProxy({
      workerProcesses: 1,
      listen: [
        { host: '127.0.0.1', port: p1, flags: [] },
        { host: '127.0.0.1', port: p2, flags: ['ssl', 'http2'] },
      ],
      snapshot: snap,
      logger: createLogger('test-tls', 'silent'),
      nodeName: 'tls-test',
      logLevel: 'silent',
      ssl: { cert: [], key: [], prefix },
    });
    const viaTls = await httpsGet(p2, '/any');
    expect(viaTls.status).toBe(200);
    expect(JSON.parse(viaTls.body).headers['x-forwarded-proto']).toBe('https');
    expect((await httpGet(p1, '/any')).status).toBe(200);
  }, 60_000);
});
