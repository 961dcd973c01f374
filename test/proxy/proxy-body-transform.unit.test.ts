// request-transformer and response-transformer body rewrites through a real proxy and real
// upstreams: JSON, form and multipart request bodies, JSON (and gzip JSON) responses, fixed
// Content-Length, and untouched streaming for everything the plugins do not rewrite.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import http from 'node:http';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { echoServer, get, plugin, route, service, snapshot, type Echo, type Upstream_ } from '../support/proxy-fixtures.ts';

let proxy: ProxyServer;
let base: string;
let echo: Upstream_;
let answers: Upstream_;

/** Answers /json, /gzip, /text, /array in two writes each (chunked, no Content-Length). */
function answer(req: http.IncomingMessage, res: http.ServerResponse): void {
  const path = (req.url ?? '').split('?')[0];
  const obj = JSON.stringify({ keep: 1, drop: 'x', old: 'o', rep: 'r', list: 'a', flag: false, nil: null });
  if (path === '/json' || path === '/head') {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'x-up': '1' });
    res.write(obj.slice(0, 10));
    setTimeout(() => res.end(obj.slice(10)), 20);
  } else if (path === '/gzip') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    res.end(gzipSync(obj));
  } else if (path === '/array') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('[1,2,3]');
  } else {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('plain ');
    setTimeout(() => res.end('text'), 20);
  }
}

beforeAll(async () => {
  echo = await echoServer();
  answers = await echoServer(answer);
  const sEcho = service({ port: echo.port });
  const sAns = service({ port: answers.port });
  const rReq = route(sEcho, { paths: ['/req'] });
  const rRes = route(sAns, { paths: ['/res'], strip_path: true });
  const rAuth = route(sEcho, { paths: ['/auth'] });
  const rTpl = route(sEcho, { paths: ['~/tpl/(?<tenant>[a-z]+)$'] });
  const rGet = route(sEcho, { paths: ['/toget'] });
  proxy = await createProxyServer({
    snapshot: snapshot({
      services: [sEcho, sAns],
      routes: [rReq, rRes, rAuth, rTpl, rGet],
      plugins: [
        plugin('request-transformer', {
          remove: { body: ['drop'] },
          rename: { body: ['old:new'] },
          replace: { body: ['rep:replaced', 'absent:never'] },
          add: { body: ['added:yes', 'keep:not-overwritten'] },
          append: { body: ['list:b'] },
        }, { route: { id: rReq.id } }),
        plugin('response-transformer', {
          remove: { json: ['drop'] },
          rename: { json: ['old:new'] },
          replace: { json: ['rep:2', 'absent:x'], json_types: ['number', 'string'] },
          add: { json: ['added:true', 'keep:9', 'flag:true', 'nil:x'], json_types: ['boolean', 'number', 'string', 'string'] },
          append: { json: ['list:b'] },
        }, { route: { id: rRes.id } }),
        plugin('key-auth', {}, { route: { id: rAuth.id } }),
        plugin('request-transformer', { http_method: 'GET', remove: { querystring: ['secret'] } }, { route: { id: rGet.id } }),
        plugin('request-transformer', {
          replace: { uri: '/tenants/$(uri_captures.tenant)' },
          add: {
            headers: ['x-user:$(headers.x_user_id)', 'x-page:page $(query_params["p"] or "1")'],
            querystring: ['tenant:$(uri_captures[1])'],
            body: ['user:$(headers["x-user-id"])', 'literal:$(not a template)'],
          },
        }, { route: { id: rTpl.id } }),
        plugin('response-transformer', { add: { json: ['hint:use an apikey header'] } }, { route: { id: rAuth.id } }),
      ],
    }),
  });
  base = `http://127.0.0.1:${(await proxy.listen(0, '127.0.0.1')).port}`;
});

afterAll(async () => {
  await proxy?.close();
  await echo?.close();
  await answers?.close();
});

/** POST through the proxy with a chunked (no Content-Length) body sent in two writes. */
function postChunked(path: string, contentType: string, body: Buffer): Promise<Echo> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method: 'POST', headers: { 'content-type': contentType, 'transfer-encoding': 'chunked' } }, (res) => {
      let t = '';
      res.on('data', (c: Buffer) => (t += c));
      res.on('end', () => resolve(JSON.parse(t) as Echo));
    });
    req.on('error', reject);
    req.write(body.subarray(0, 5));
    setTimeout(() => req.end(body.subarray(5)), 20);
  });
}

describe('request-transformer body', () => {
  test('JSON: remove, rename, replace, add, append in Kong\'s order, with a new Content-Length', async () => {
    const r = await get(`${base}/req`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ keep: 1, drop: 2, old: 3, rep: 4, list: 'a' }) });
    const e = r.json();
    expect(JSON.parse(e.body)).toEqual({ keep: 1, new: 3, rep: 'replaced', added: 'yes', list: ['a', 'b'] });
    expect(e.headers['content-length']).toBe(String(Buffer.byteLength(e.body)));
  });

  test('JSON: an empty body gets the added and appended fields; a chunked body is read whole', async () => {
    const empty = (await get(`${base}/req`, { method: 'POST', headers: { 'content-type': 'application/json' } })).json();
    expect(JSON.parse(empty.body)).toEqual({ added: 'yes', keep: 'not-overwritten', list: ['b'] });
    const chunked = await postChunked('/req', 'application/json', Buffer.from(JSON.stringify({ drop: 1, list: ['x'] })));
    expect(JSON.parse(chunked.body)).toEqual({ added: 'yes', keep: 'not-overwritten', list: ['x', 'b'] });
    expect(chunked.headers['content-length']).toBe(String(Buffer.byteLength(chunked.body)));
    expect(chunked.headers['transfer-encoding']).toBeUndefined();
  });

  test('JSON that does not parse is forwarded as it came', async () => {
    const e = (await get(`${base}/req`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' })).json();
    expect(e.body).toBe('{not json');
  });

  test('form-urlencoded: the same operations, arguments sorted by name as Kong encodes them', async () => {
    const e = (await get(`${base}/req`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'rep=1&drop=2&old=3&list=a&z=last' })).json();
    expect(e.body).toBe('added=yes&keep=not-overwritten&list=a&list=b&new=3&rep=replaced&z=last');
    expect(e.headers['content-length']).toBe(String(e.body.length));
  });

  test('multipart: fields edited, a file part passes byte for byte', async () => {
    const boundary = 'XyZ123';
    // bytes that look like line ends and dashes, still valid UTF-8 for the echo server's JSON
    const file = Buffer.from([0, 1, 2, 0xc3, 0xa9, 13, 10, 45, 45, 7]);
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="old"\r\n\r\nold-value\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="drop"\r\n\r\ngone\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="upload"; filename="a.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
      file,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const e = await postChunked('/req', `multipart/form-data; boundary=${boundary}`, body);
    expect(e.body).toContain('name="new"\r\n\r\nold-value\r\n');
    expect(e.body).not.toContain('name="drop"');
    expect(e.body).toContain('name="added"\r\n\r\nyes\r\n');
    expect(e.body).toContain(Buffer.concat([Buffer.from('Content-Type: application/octet-stream\r\n\r\n'), file, Buffer.from('\r\n')]).toString());
    expect(e.headers['content-length']).toBe(String(Buffer.byteLength(e.body)));
  });

  test('other content types keep streaming: a chunked text body arrives chunked and unchanged', async () => {
    const e = await postChunked('/req', 'text/plain', Buffer.from('drop=1&old=2'));
    expect(e.body).toBe('drop=1&old=2');
    expect(e.headers['transfer-encoding']).toBe('chunked');
    expect(e.headers['content-length']).toBeUndefined();
  });
});

describe('request-transformer http_method', () => {
  test("turned into a GET, a form body's arguments join the query string before its edits", async () => {
    const e = (await get(`${base}/toget?b=2`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&secret=x' })).json();
    expect(e.method).toBe('GET');
    expect(e.url).toBe('/?b=2&a=1');
  });
});

describe('request-transformer templates', () => {
  test('$(headers.x), $(query_params["x"] or "default"), $(uri_captures.name / [n]) in headers, query, body and uri', async () => {
    const e = (await get(`${base}/tpl/acme`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-user-id': 'u42' }, body: '{}' })).json();
    expect(e.url).toBe('/tenants/acme?tenant=acme');
    expect(e.headers['x-user']).toBe('u42');
    expect(e.headers['x-page']).toBe('page 1');
    expect(JSON.parse(e.body)).toEqual({ user: 'u42', literal: '$(not a template)' });
    const withPage = (await get(`${base}/tpl/acme?p=3`)).json();
    expect(withPage.headers['x-page']).toBe('page 3');
    expect(withPage.url).toBe('/tenants/acme?p=3&tenant=acme');
  });
});

describe('response-transformer body', () => {
  // Kong's Lua truthiness: add fills a key that is false, but not one that is null.
  test('JSON answers are rewritten with json_types and sent with a fresh Content-Length', async () => {
    const r = await get(`${base}/res/json`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ keep: 1, new: 'o', rep: 2, list: ['a', 'b'], flag: 'true', nil: null, added: true });
    expect(r.headers['content-length']).toBe(String(Buffer.byteLength(r.text)));
    expect(r.headers['transfer-encoding']).toBeUndefined();
    expect(r.headers['x-up']).toBe('1');
  });

  test('gzip JSON is inflated, rewritten and deflated', async () => {
    const r = await fetchRaw(`${base}/res/gzip`);
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(r.headers['content-length']).toBe(String(r.body.length));
    expect(JSON.parse(gunzipSync(r.body).toString()).rep).toBe(2);
  });

  test('non-JSON answers and JSON arrays pass untouched; text keeps streaming chunked', async () => {
    const t = await fetchRaw(`${base}/res/text`);
    expect(t.body.toString()).toBe('plain text');
    expect(t.headers['transfer-encoding']).toBe('chunked');
    expect((await get(`${base}/res/array`)).text).toBe('[1,2,3]');
  });

  test('HEAD answers carry no body and are not held', async () => {
    const r = await get(`${base}/res/head`, { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
  });

  test("a plugin's own answer is rewritten too (key-auth 401)", async () => {
    const r = await get(`${base}/auth`);
    expect(r.status).toBe(401);
    expect(r.json<{ message: string; hint: string }>()).toMatchObject({ message: 'No API key found in request', hint: 'use an apikey header' });
    expect(r.headers['content-length']).toBe(String(Buffer.byteLength(r.text)));
  });
});

function fetchRaw(url: string): Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}
