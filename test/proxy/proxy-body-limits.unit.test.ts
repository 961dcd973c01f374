// nginx_http_client_body_buffer_size and nginx_http_client_max_body_size through a real proxy
// and a real upstream: plugins that read the body see it only when it fits the buffer, a
// larger body reaches the upstream byte for byte, and bodies over the maximum get Kong's 413.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { consumer, echoServer, keyauth, plugin, route, service, snapshot, type Echo, type Upstream_ } from '../support/proxy-fixtures.ts';

const BUFFER = 1024;
const MAX = 64 * 1024;

let proxy: ProxyServer;
let base: string;
let echo: Upstream_;

beforeAll(async () => {
  echo = await echoServer();
  const s = service({ port: echo.port });
  const rt = route(s, { paths: ['/rt'] });
  const kb = route(s, { paths: ['/kb'] });
  const small = route(s, { paths: ['/small'] });
  const plain = route(s, { paths: ['/plain'] });
  const alice = consumer('alice');
  proxy = await createProxyServer({
    bodyBufferSize: BUFFER,
    maxBodySize: MAX,
    snapshot: snapshot({
      services: [s],
      routes: [rt, kb, small, plain],
      consumers: [alice],
      keyauth_credentials: [keyauth(alice, 'alice-key')],
      plugins: [
        plugin('request-transformer', { remove: { body: ['drop'] } }, { route: { id: rt.id } }),
        plugin('key-auth', { key_in_body: true }, { route: { id: kb.id } }),
        plugin('request-size-limiting', { allowed_payload_size: 2, size_unit: 'kilobytes' }, { route: { id: small.id } }),
      ],
    }),
  });
  base = `http://127.0.0.1:${(await proxy.listen(0, '127.0.0.1')).port}`;
});

afterAll(async () => {
  await proxy?.close();
  await echo?.close();
});

interface Sent {
  status: number;
  body: Echo & { message?: string; request_id?: string };
}

/** POSTs `body` through the proxy, chunked in 512-byte writes or with a Content-Length. */
function send(path: string, body: string, o: { chunked?: boolean; headers?: Record<string, string>; agent?: http.Agent } = {}): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...o.headers, ...(o.chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(Buffer.byteLength(body)) }) };
    const req = http.request(`${base}${path}`, { method: 'POST', headers, agent: o.agent }, (res) => {
      let t = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (t += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: t ? JSON.parse(t) : null }));
    });
    // A 413 may close the connection before the body is written: the answer still arrives.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    if (!o.chunked) return void req.end(body);
    for (let i = 0; i < body.length; i += 512) req.write(body.slice(i, i + 512));
    req.end();
  });
}

const json = (n: number) => JSON.stringify({ keep: 1, drop: 2, pad: 'x'.repeat(n) });

describe('nginx_http_client_body_buffer_size', () => {
  test('a body that fits is rewritten; a larger one reaches the upstream unchanged, chunked or not', async () => {
    const fits = await send('/rt', json(100), { headers: { 'content-type': 'application/json' } });
    expect(fits.status).toBe(200);
    expect(JSON.parse(fits.body.body)).toEqual({ keep: 1, pad: 'x'.repeat(100) });

    for (const chunked of [true, false]) {
      const big = json(30_000);
      const r = await send('/rt', big, { chunked, headers: { 'content-type': 'application/json' } });
      expect(r.status, `chunked: ${chunked}`).toBe(200);
      expect(r.body.body.length).toBe(big.length);
      expect(r.body.body === big, 'every byte, in order').toBe(true);
    }
  });

  test('key-auth key_in_body finds a key in a body that fits, not in a larger one; a header key still passes it through whole', async () => {
    const form = (pad: number) => `apikey=alice-key&pad=${'y'.repeat(pad)}`;
    const type = { 'content-type': 'application/x-www-form-urlencoded' };
    expect((await send('/kb', form(100), { headers: type })).status).toBe(200);
    const big = await send('/kb', form(5000), { chunked: true, headers: type });
    expect(big.status).toBe(401);
    const withHeader = await send('/kb', form(5000), { chunked: true, headers: { ...type, apikey: 'alice-key' } });
    expect(withHeader.status).toBe(200);
    expect(withHeader.body.body).toBe(form(5000));
  });

  test('after a plugin answers a large body it did not read, the next request on the same connection is served', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const type = { 'content-type': 'application/x-www-form-urlencoded' };
      // Larger than the socket and stream buffers hold: the server must read it away.
      expect((await send('/kb', `pad=${'z'.repeat(500_000)}`, { chunked: true, headers: type, agent })).status).toBe(401);
      const next = await send('/kb', 'pad=small', { headers: { ...type, apikey: 'alice-key' }, agent });
      expect(next.status).toBe(200);
      expect(next.body.body).toBe('pad=small');
    } finally {
      agent.destroy();
    }
  }, 20_000);
});

describe('nginx_http_client_max_body_size', () => {
  test('a declared length over it is refused before routing, with Kong\'s 413 body', async () => {
    const hits = echo.hits;
    for (const path of ['/plain', '/no-such-route']) {
      const r = await send(path, 'z'.repeat(MAX + 1));
      expect(r.status, path).toBe(413);
      expect(r.body.message).toBe('Payload too large');
      expect(r.body.request_id).toMatch(/\S/);
    }
    expect(echo.hits, 'the upstream never saw them').toBe(hits);
  });

  test('a chunked body crossing it is cut off with 413, also where a plugin reads the body; up to it everything passes', async () => {
    const before = (await send('/plain', 'a'.repeat(MAX), { chunked: true })).body.body;
    expect(before.length).toBe(MAX);
    for (const path of ['/plain', '/rt']) {
      const r = await send(path, 'b'.repeat(MAX + 1000), { chunked: true, headers: { 'content-type': 'application/json' } });
      expect(r.status, path).toBe(413);
      expect(r.body.message, path).toBe('Payload too large');
    }
  });

  test('request-size-limiting below it keeps its own limit and message', async () => {
    const r = await send('/small', 'c'.repeat(3000), { chunked: true });
    expect(r.status).toBe(413);
    expect(r.body.message).toBe('Request size limit exceeded');
    expect((await send('/small', 'c'.repeat(1000), { chunked: true })).status).toBe(200);
  });
});
