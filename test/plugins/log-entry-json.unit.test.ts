// The log entry writer (log-entry-json.ts) against the object way it replaces: for real requests
// (raw bytes to a real HTTP server, so repeated headers and odd values arrive as a client sends
// them), writeEntry must give byte for byte JSON.stringify of kong.log.serialize()'s object with
// the custom fields applied (stringifyEntry(applyCustomFields(serializeRequest(ctx)))).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ProxyContext } from '../../src/proxy/context.ts';
import { applyCustomFields } from '../../src/plugins/custom-fields.ts';
import { serializeRequest, stringifyEntry } from '../../src/plugins/log-serializer.ts';
import { writeEntry, writeLine } from '../../src/plugins/log-entry-json.ts';
import { EMPTY_TAIL, linesBytes, textOf } from '../../src/plugins/log-line.ts';
import type { Consumer } from '../../src/entities/types.ts';
import { rawRequest } from '../support/raw-client.ts';
import { route, service } from '../support/proxy-fixtures.ts';

type Setup = (ctx: ProxyContext) => void;

interface Outcome {
  fast: string;
  old: string;
  /** Whether the writer wrote the entry itself rather than through the object. */
  direct: boolean;
}

let server: http.Server;
let port: number;
/** What the server does with the next request: the case's context set-up and custom fields. */
let current: { setup: Setup; fields: Record<string, string> | null; done: (o: Outcome) => void } | null = null;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const c = current!;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const ctx = new ProxyContext(req, res, 'aaaabbbbccccddddeeeeffff00000001', performance.now() - 3.7, q === -1 ? url : url.slice(0, q), q === -1 ? '' : url.slice(q + 1), req.headers.host ?? '');
    ctx.listenPort = port;
    c.setup(ctx);
    const now = performance.now();
    const entry = serializeRequest(ctx, now);
    applyCustomFields(entry, c.fields);
    lastCtx = ctx;
    const outcome = { fast: writeEntry(ctx, c.fields, now), old: stringifyEntry(entry), direct: writeLine(ctx, c.fields, now).tail !== EMPTY_TAIL };
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
    c.done(outcome);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

/** Send `head` (request line and headers, CRLF-separated, without the blank line) and compare. */
async function compare(head: string, setup: Setup, direct: boolean, fields: Record<string, string> | null = null): Promise<Outcome> {
  const got = new Promise<Outcome>((resolve) => (current = { setup, fields, done: resolve }));
  await rawRequest(port, Buffer.from(`${head}\r\nConnection: close\r\n\r\n`, 'latin1'));
  const o = await got;
  expect(o.fast).toBe(o.old);
  expect(o.direct, 'written directly, not through the object').toBe(direct);
  return o;
}

/** The last case's context (the batch test writes its lines again). */
let lastCtx: ProxyContext | null = null;

const svc = service({ name: 'orders', port: 8080, tags: ['a', 'b'] });
const rt = route(svc, { name: 'orders-route', paths: ['/orders'], hosts: ['api.example.com'] });
const consumer: Consumer = { id: '7e0b2c4a-1111-4222-8333-944455556666', username: 'alice "the admin"', custom_id: null, tags: null, created_at: 1, updated_at: 1 };

/** A request that was proxied: route, service, consumer and credential, an upstream answer. */
const proxied: Setup = (ctx) => {
  ctx.route = rt;
  ctx.service = svc;
  ctx.consumer = consumer;
  ctx.credential = { id: 'cred-1', consumer: { id: consumer.id } };
  ctx.upstreamTarget = 'http://10.1.2.3:8080';
  ctx.upstreamPath = ctx.path;
  ctx.status = 201;
  ctx.proxyLatency = 0.6;
  ctx.upstreamLatency = 2.4;
  ctx.bytesOut = 512;
  ctx.sentHeaders = ['Content-Type', 'application/json', 'Set-Cookie', 'a=1', 'X-Quote', 'say "hi" \\ there', 'via', '1.1 gossamer'];
  ctx.shared = { correlation_id: 'c0ffee00-1111-4222-8333-944455556666#42' };
};

describe('log entry writer: byte for byte the object way', () => {
  test('proxied request with consumer, credential, route, service, query args, tries, correlation id', async () => {
    await compare('GET /orders/7?a=1&a=2&flag&sp=a+b&enc=%C3%A9%22&10=x&=empty HTTP/1.1\r\nHost: api.example.com:8000\r\nAuthorization: Bearer abc\r\nX-Team: gw', proxied, true);
  });

  test('repeated request and response headers (arrays), repeated authorization, a digit-led header name', async () => {
    await compare('GET /orders HTTP/1.1\r\nHost: api.example.com\r\nX-A: 1\r\nx-a: 2\r\nX-A: 3\r\nAuthorization: one\r\nauthorization: two', proxied, false);
    await compare('GET /orders HTTP/1.1\r\nHost: api.example.com\r\n1x: digit\r\nProxy-Authorization: secret', proxied, false);
    await compare('GET /orders HTTP/1.1\r\nHost: api.example.com\r\nProxy-Authorization: secret', proxied, true);
  });

  test('header values with quotes, backslashes, tabs and latin-1 bytes; an IPv4-mapped client address over TLS', async () => {
    await compare('GET /orders?q=%22%5C HTTP/1.1\r\nHost: api.example.com\r\nX-Odd: a "b" \\c\td\r\nX-Slash: c:\\dir\r\nX-Tab: a\tb\r\nX-Latin: caf\xe9', (ctx) => {
      proxied(ctx);
      ctx.clientIp = '::ffff:192.0.2.10';
      ctx.https = true;
      // An emoji (a surrogate pair), a lone surrogate and a control character, which JSON escapes.
      ctx.shared = { correlation_id: 'id-\u{1F600}-\ud800-\u0001' };
    }, true);
    await compare('GET /orders HTTP/1.1\r\nHost: api.example.com', (ctx) => {
      proxied(ctx);
      ctx.sentHeaders = ['Set-Cookie', 'a=1', 'set-cookie', 'b=2', 'X-B', '1'];
    }, false);
  });

  test('no route, service, consumer or upstream: a 404 Kong answered itself, headers from the response object', async () => {
    await compare('GET /nowhere? HTTP/1.1\r\nHost: other.example.com', (ctx) => {
      ctx.status = 404;
      ctx.exitStatus = 404;
      ctx.res.setHeader('X-Kong-Request-Id', ctx.requestId);
      ctx.res.setHeader('X-Other', 'y');
    }, true);
    await compare('GET /nowhere HTTP/1.1\r\nHost: other.example.com', (ctx) => {
      ctx.status = 404;
      ctx.exitStatus = 404;
      ctx.res.setHeader('Set-Cookie', ['x=1', 'y=2']);
    }, false);
  });

  test('a plugin answer on a matched route (source kong, no tries) with a body size and POST', async () => {
    await compare('POST /orders HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 0', (ctx) => {
      ctx.route = rt;
      ctx.service = svc;
      ctx.exitStatus = 401;
      ctx.status = 401;
      ctx.sentHeaders = ['www-authenticate', 'Bearer'];
    }, true);
  });

  test('custom_fields_by_lua: new top-level fields, and the ones that reach into the entry', async () => {
    const cases: [Record<string, string>, boolean][] = [
      [{ env: 'return "prod"', n: 'return 12.5', yes: 'return true', no: 'return false', gone: 'return nil', 'a\\.b': "return 'dot'", z: 'return -0' }, true],
      [{ 'request.id': 'return "mine"', 'nested.deep.key': 'return 1' }, false],
      [{ route: 'return nil', service: 'return "svc"' }, false],
      [{ correlation_id: 'return "other"' }, false],
      [{ '1': 'return 2', tag: 'return "x"' }, false],
      [{ 'route.name': 'return "renamed"', 'consumer.username': 'return nil' }, false],
      [JSON.parse('{"__proto__": "return 1", "env": "return 2"}') as Record<string, string>, false],
    ];
    for (const [fields, direct] of cases) await compare('GET /orders?x=1 HTTP/1.1\r\nHost: api.example.com', proxied, direct, fields);
  });
});

describe('log lines: the bytes a collector gets', () => {
  test('a batch is the JSON array of the entries, non-ASCII text included, and one entry alone is its text', async () => {
    const texts: string[] = [];
    const lines = [];
    for (const head of ['GET /orders?n=1&q=%F0%9F%98%80 HTTP/1.1\r\nHost: api.example.com', 'GET /orders HTTP/1.1\r\nHost: api.example.com\r\nX-Latin: \xe9t\xe9', 'GET /x HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-A: 2']) {
      await compare(head, proxied, !head.includes('X-A: 2'));
      // The same request written again, its latencies to the same clock as compare()'s.
      const line = writeLine(lastCtx!, null, lastCtx!.startedAt + 10);
      texts.push(textOf(line));
      lines.push(line);
      // What the queue's max_bytes counts: the text's length, as when it held the text.
      expect(textOf(line).length).toBe(line.length);
      expect(textOf(line)).toBe(writeEntry(lastCtx!, null, lastCtx!.startedAt + 10));
    }
    expect(linesBytes(lines, true).equals(Buffer.from(`[${texts.join(',')}]`))).toBe(true);
    expect(linesBytes(lines.slice(1, 2), false).equals(Buffer.from(texts[1]!))).toBe(true);
    expect(JSON.parse(linesBytes(lines, true).toString('utf8'))).toHaveLength(3);
  });
});
