// key-auth key_in_body: the key as a field of a form-urlencoded, multipart or JSON body, the
// body read whole before access and sent upstream intact (or without the key when
// hide_credentials), through a real proxy and upstream. Routes without key_in_body stream.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import http from 'node:http';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { freePort } from '../../src/db/embedded.ts';
import { consumer, echoServer, get, keyauth, plugin, route, service, snapshot, type Upstream_ } from '../support/proxy-fixtures.ts';

let proxy: ProxyServer;
let base: string;
let up: Upstream_;
const alice = consumer('alice');

beforeAll(async () => {
  up = await echoServer();
  const s = service({ port: up.port });
  const rBody = route(s, { paths: ['/body'] });
  const rHide = route(s, { paths: ['/hide'] });
  const rOff = route(s, { paths: ['/off'] });
  const rTransform = route(s, { paths: ['/transform'] });
  proxy = await createProxyServer({
    snapshot: snapshot({
      services: [s],
      routes: [rBody, rHide, rOff, rTransform],
      consumers: [alice],
      keyauth_credentials: [keyauth(alice, 'alice-key')],
      plugins: [
        plugin('key-auth', { key_in_body: true }, { route: { id: rBody.id } }),
        plugin('key-auth', { key_in_body: true, hide_credentials: true }, { route: { id: rHide.id } }),
        plugin('key-auth', {}, { route: { id: rOff.id } }),
        plugin('key-auth', { key_in_body: true }, { route: { id: rTransform.id } }),
        plugin('request-transformer', { add: { body: ['added:yes'] } }, { route: { id: rTransform.id } }),
      ],
    }),
  });
  base = `http://127.0.0.1:${(await proxy.listen(await freePort(), '127.0.0.1')).port}`;
});

afterAll(async () => {
  await proxy?.close();
  await up?.close();
});

const post = (path: string, type: string, body: string) => get(`${base}${path}`, { method: 'POST', headers: { 'content-type': type }, body });

function multipart(fields: Record<string, string>, boundary = 'XyZ123'): { type: string; body: string } {
  let body = '';
  for (const [k, v] of Object.entries(fields)) body += `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`;
  return { type: `multipart/form-data; boundary=${boundary}`, body: `${body}--${boundary}--\r\n` };
}

describe('key_in_body', () => {
  test('form-urlencoded, JSON and multipart bodies authenticate; the body reaches the upstream unchanged', async () => {
    const form = await post('/body', 'application/x-www-form-urlencoded', 'a=1&apikey=alice-key&b=2');
    expect(form.status).toBe(200);
    expect(form.json().headers['x-consumer-username']).toBe('alice');
    expect(form.json().body).toBe('a=1&apikey=alice-key&b=2');

    const json = await post('/body', 'application/json; charset=utf-8', JSON.stringify({ apikey: 'alice-key', n: 1 }));
    expect(json.status).toBe(200);
    expect(JSON.parse(json.json().body)).toEqual({ apikey: 'alice-key', n: 1 });

    const mp = multipart({ x: 'y', apikey: 'alice-key' });
    const multi = await post('/body', mp.type, mp.body);
    expect(multi.status).toBe(200);
    expect(multi.json().body).toBe(mp.body);
    expect(multi.json().headers['content-length']).toBe(String(Buffer.byteLength(mp.body)));
  });

  test('a chunked body (no Content-Length) is read too', async () => {
    const r = await request(`${base}/body`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: Readable.from([Buffer.from('apikey=alice'), Buffer.from('-key&tail=1')]),
    });
    expect(r.statusCode).toBe(200);
    const echo = (await r.body.json()) as { body: string; headers: Record<string, string> };
    expect(echo.body).toBe('apikey=alice-key&tail=1');
    expect(echo.headers['x-consumer-username']).toBe('alice');
  });

  test('wrong or missing key in the body: Kong 401s; an unreadable body: 400', async () => {
    const wrong = await post('/body', 'application/json', JSON.stringify({ apikey: 'nope' }));
    expect(wrong.status).toBe(401);
    expect(wrong.json().message).toBe('Invalid authentication credentials');
    const none = await post('/body', 'application/x-www-form-urlencoded', 'a=1');
    expect(none.status).toBe(401);
    expect(none.json().message).toBe('No API key found in request');
    const noBody = await get(`${base}/body`);
    expect(noBody.json().message).toBe('No API key found in request');
    const bad = await post('/body', 'application/json', '{"apikey": ');
    expect(bad.status).toBe(400);
    expect(bad.json().message).toBe('Cannot process request body');
    const header = await post('/body', 'text/plain', 'whatever');
    expect(header.status).toBe(400);
    // A key in a header still wins without looking at the body.
    const h = await get(`${base}/body`, { method: 'POST', headers: { apikey: 'alice-key', 'content-type': 'text/plain' }, body: 'free text' });
    expect(h.status).toBe(200);
    expect(h.json().body).toBe('free text');
  });

  test('hide_credentials removes the key field and fixes Content-Length', async () => {
    const form = await post('/hide', 'application/x-www-form-urlencoded', 'a=1&apikey=alice-key&b=2');
    expect(form.status).toBe(200);
    expect(form.json().body).toBe('a=1&b=2');
    expect(form.json().headers['content-length']).toBe('7');
    const json = await post('/hide', 'application/json', JSON.stringify({ apikey: 'alice-key', keep: true }));
    expect(JSON.parse(json.json().body)).toEqual({ keep: true });
    const mp = multipart({ apikey: 'alice-key', x: 'y' });
    const multi = await post('/hide', mp.type, mp.body);
    expect(multi.json().body).toBe(multipart({ x: 'y' }).body);
  });

  test('request-transformer body rewrites apply to a body key-auth already read', async () => {
    const r = await post('/transform', 'application/x-www-form-urlencoded', 'apikey=alice-key');
    expect(r.status).toBe(200);
    expect(new URLSearchParams(r.json().body).get('added')).toBe('yes');
    expect(r.json().headers['content-length']).toBe(String(Buffer.byteLength(r.json().body)));
  });

  test('with the key in a header the body is not read before access: the upstream sees the request before the body ends', async () => {
    const before = up.hits;
    const req = http.request(`${base}/body`, { method: 'POST', headers: { apikey: 'alice-key', 'content-type': 'application/x-www-form-urlencoded' } });
    const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
    });
    req.write('first=1');
    // Streaming forwards the head at once; a proxy that read the body first would wait for its end.
    for (let i = 0; i < 100 && up.hits === before; i++) await new Promise((r) => setTimeout(r, 50));
    const reachedBeforeEnd = up.hits > before;
    req.end('&second=2');
    const r = await answered;
    expect(reachedBeforeEnd).toBe(true);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).body).toBe('first=1&second=2');
  });

  test('without key_in_body the body is not looked at (and still streams through)', async () => {
    const r = await post('/off', 'application/x-www-form-urlencoded', 'apikey=alice-key');
    expect(r.status).toBe(401);
    const ok = await get(`${base}/off`, { method: 'POST', headers: { apikey: 'alice-key', 'content-type': 'text/plain' }, body: 'x'.repeat(100000) });
    expect(ok.status).toBe(200);
    expect(ok.json().body.length).toBe(100000);
  });
});
