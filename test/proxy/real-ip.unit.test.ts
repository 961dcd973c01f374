// The client address behind trusted peers (trusted_ips, real_ip_header, real_ip_recursive) and
// proxy_listen's proxy_protocol flag beyond Kong's spec cases: IPv6 and CIDR blocks, the PROXY
// protocol's v2 header, a connection without a header, and the address plugins and logs see.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { RealIp, entryAddress } from '../../src/proxy/real-ip.ts';
import { echoServer, eventually, plugin, route, service, snapshot, type Upstream_ } from '../support/proxy-fixtures.ts';
import { rawRequest } from '../support/raw-client.ts';
import { ssl } from '../support/tls-fixtures.ts';
import net from 'node:net';
import tls from 'node:tls';
import { defaultTlsContextSettings } from '../../src/proxy/tls-settings.ts';

const req = (headers: Record<string, string>) => ({ headers, rawHeaders: Object.entries(headers).flat() }) as unknown as http.IncomingMessage;

describe('RealIp (nginx realip)', () => {
  it('trusts addresses and CIDR blocks of both families, an IPv4 peer of a dual-stack listener included', () => {
    const r = new RealIp({ trustedIps: ['10.0.0.0/8', 'fd00::/16', '192.168.1.7', 'unix:'], header: 'x-real-ip', recursive: false });
    expect(['10.1.2.3', '::ffff:10.1.2.3', 'fd00::9', '192.168.1.7'].map((a) => r.isTrusted(a))).toEqual([true, true, true, true]);
    expect(['11.0.0.1', 'fe80::1', '192.168.1.8', ''].map((a) => r.isTrusted(a))).toEqual([false, false, false, false]);
    expect(RealIp.none.isTrusted('127.0.0.1')).toBe(false);
    const all = new RealIp({ trustedIps: ['0.0.0.0/0', '::/0'], header: 'x-real-ip', recursive: false });
    expect(all.isTrusted('203.0.113.9') && all.isTrusted('2001:db8::1')).toBe(true);
  });

  it("reads list entries as nginx's ngx_parse_addr_port: with or without a port, IPv6 bare or bracketed", () => {
    expect(['1.2.3.4', '1.2.3.4:80', '2001:db8::1', '[2001:db8::1]:443', 'unknown', '1.2.3:4'].map(entryAddress)).toEqual([
      '1.2.3.4', '1.2.3.4', '2001:db8::1', '2001:db8::1', null, null,
    ]);
  });

  it('takes the last X-Forwarded-For entry, or walks past trusted ones when recursive; a bad entry stops the walk', () => {
    const o = { trustedIps: ['127.0.0.1', '10.0.0.0/8'], header: 'x-forwarded-for' };
    const xff = req({ 'x-forwarded-for': '203.0.113.5, 10.0.0.2, 10.0.0.3' });
    expect(new RealIp({ ...o, recursive: false }).clientOf('127.0.0.1', xff, undefined)).toBe('10.0.0.3');
    expect(new RealIp({ ...o, recursive: true }).clientOf('127.0.0.1', xff, undefined)).toBe('203.0.113.5');
    expect(new RealIp({ ...o, recursive: true }).clientOf('127.0.0.1', req({ 'x-forwarded-for': 'garbage, 10.0.0.3' }), undefined)).toBe('10.0.0.3');
    expect(new RealIp({ ...o, recursive: true }).clientOf('198.51.100.1', xff, undefined)).toBe('198.51.100.1');
    const custom = new RealIp({ trustedIps: ['127.0.0.1'], header: 'cf-connecting-ip', recursive: false });
    expect(custom.clientOf('127.0.0.1', req({ 'CF-Connecting-IP': '2001:db8::7' }), undefined)).toBe('2001:db8::7');
    expect(custom.clientOf('127.0.0.1', req({}), undefined)).toBe('127.0.0.1');
  });
});

describe('through the proxy', () => {
  let up: Upstream_;
  let proxy: ProxyServer;
  let plain: number;
  let pp: number;
  /** A proxy_protocol listener with real_ip_header = proxy_protocol. */
  let ppProxy: ProxyServer;
  let ppReal: number;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-realip-'));
  const logFile = path.join(dir, 'log.json');

  beforeAll(async () => {
    up = await echoServer();
    const services = [0, 1, 2].map(() => service({ port: up.port }));
    const open = route(services[0]!, { hosts: ['open.test'] });
    const guarded = route(services[1]!, { hosts: ['guarded.test'] });
    const secure = route(services[2]!, { hosts: ['secure.test'], protocols: ['https'] });
    proxy = await createProxyServer({
      snapshot: snapshot({
        services,
        routes: [open, guarded, secure],
        plugins: [plugin('ip-restriction', { deny: ['203.0.113.0/24'] }, { route: { id: guarded.id } }), plugin('file-log', { path: logFile }, { route: { id: open.id } })],
      }),
      realIp: { trustedIps: ['127.0.0.1'], header: 'x-forwarded-for', recursive: false },
    });
    plain = (await proxy.listen(0, '127.0.0.1')).port;
    pp = (await proxy.listen(0, '127.0.0.1', false, { proxyProtocol: true })).port;
    ppProxy = await createProxyServer({ snapshot: snapshot({ services: [services[0]!], routes: [open] }), realIp: { trustedIps: ['127.0.0.1'], header: 'proxy_protocol', recursive: false } });
    ppReal = (await ppProxy.listen(0, '127.0.0.1', false, { proxyProtocol: true })).port;
  });
  afterAll(async () => {
    await proxy?.close();
    await ppProxy?.close();
    await up?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const get = (port: number, headers: Record<string, string>) =>
    new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
      const r = http.request({ host: '127.0.0.1', port, path: '/', headers, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
      });
      r.on('error', reject);
      r.end();
    });

  it('ip-restriction judges the address a trusted peer names, as nginx realip gives Kong $remote_addr', async () => {
    expect((await get(plain, { host: 'guarded.test', 'x-forwarded-for': '203.0.113.9' })).status).toBe(403);
    expect((await get(plain, { host: 'guarded.test', 'x-forwarded-for': '198.51.100.9' })).status).toBe(200);
  });

  it("a log entry's client_ip is the real client's", async () => {
    expect((await get(plain, { host: 'open.test', 'x-forwarded-for': '198.51.100.4', 'x-uuid': 'realip-log' })).status).toBe(200);
    let entry: { client_ip: string } | undefined;
    await eventually(async () => {
      const lines = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : [];
      entry = lines.map((l) => JSON.parse(l)).find((l) => l.request.headers['x-uuid'] === 'realip-log');
      return entry !== undefined;
    }, 5000);
    expect(entry?.client_ip).toBe('198.51.100.4');
  });

  it("an https-only route takes a trusted peer's X-Forwarded-Proto: https, and its Location names its X-Forwarded-Host", async () => {
    expect((await get(plain, { host: 'secure.test', 'x-forwarded-proto': 'https' })).status).toBe(200);
    expect((await get(plain, { host: 'secure.test' })).status).toBe(426);
  });

  it('a PROXY protocol v2 header is read (IPv6), and the connection serves requests after the first', async () => {
    const head = Buffer.alloc(16 + 36);
    Buffer.from('0d0a0d0a000d0a515549540a', 'hex').copy(head);
    head[12] = 0x21; // v2, PROXY
    head[13] = 0x21; // AF_INET6, STREAM
    head.writeUInt16BE(36, 14);
    Buffer.from('20010db8000000000000000000000001', 'hex').copy(head, 16); // 2001:db8::1
    Buffer.from('00000000000000000000000000000001', 'hex').copy(head, 32);
    const one = 'GET / HTTP/1.1\r\nHost: open.test\r\n\r\n';
    const two = 'GET / HTTP/1.1\r\nHost: open.test\r\nConnection: close\r\n\r\n';
    const a = await rawRequest(ppReal, [head, one, two], 3000, 50);
    const bodies = [...a.data.matchAll(/\{"method".*?"port":\d+\}/g)].map((m) => JSON.parse(m[0]));
    expect(bodies.map((b) => [b.headers['x-real-ip'], b.headers['x-forwarded-for']])).toEqual([
      ['2001:db8::1', '2001:db8::1'],
      ['2001:db8::1', '2001:db8::1'],
    ]);
    // With real_ip_header = X-Forwarded-For, the PROXY address is not the client's.
    const b = await rawRequest(pp, [head, two]);
    expect(JSON.parse(/\{"method".*\}/s.exec(b.data)![0]).headers['x-real-ip']).toBe('127.0.0.1');
  });

  it('a proxy_protocol listener closes a connection that does not start with a PROXY header, as nginx', async () => {
    const a = await rawRequest(pp, 'GET / HTTP/1.1\r\nHost: open.test\r\n\r\n');
    expect(a.closed).toBe(true);
    expect(a.data).toBe('');
  });

  it('an ssl listener with proxy_protocol reads the header before the TLS handshake', async () => {
    const svc = service({ port: up.port });
    const p = await createProxyServer({
      snapshot: snapshot({ services: [svc], routes: [route(svc, { paths: ['/'] })] }),
      tls: { cert: [ssl.cert], key: [ssl.key], settings: defaultTlsContextSettings() },
      realIp: { trustedIps: ['127.0.0.1'], header: 'proxy_protocol', recursive: false },
    });
    try {
      const port = (await p.listen(0, '127.0.0.1', true, { proxyProtocol: true })).port;
      const answer = await new Promise<string>((resolve, reject) => {
        const raw = net.connect(port, '127.0.0.1', () => {
          raw.write(`PROXY TCP4 192.0.2.7 127.0.0.1 5555 ${port}\r\n`);
          const t = tls.connect({ socket: raw, servername: 'x.test', rejectUnauthorized: false }, () => t.write('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'));
          let d = '';
          t.on('data', (c) => (d += c));
          t.on('close', () => resolve(d));
          t.on('error', reject);
        });
        raw.on('error', reject);
      });
      expect(JSON.parse(/\{.*\}/s.exec(answer)![0]).headers['x-real-ip']).toBe('192.0.2.7');
    } finally {
      await p.close();
    }
  });
});
