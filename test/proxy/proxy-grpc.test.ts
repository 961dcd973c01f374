// gRPC through the proxy, as Kong's spec/02-integration/05-proxy/19-grpc_proxy_spec.lua and
// 21-grpc_plugins_triggering_spec.lua: a real @grpc/grpc-js client and upstream, grpc routes
// on a plain `http2` listener (h2c) and grpcs on an `ssl http2` one, services with protocol
// grpc (h2c upstream) and grpcs (TLS upstream); unary and server-streaming calls, the
// upstream's grpc-status and trailers passed on, and Kong's gRPC answers (no route, a plugin's
// refusal, an unreachable upstream, Kong's route checks).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import http2 from 'node:http2';
import { randomUUID } from 'node:crypto';
import { freePort } from '../../src/db/embedded.ts';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import https from 'node:https';
import { consumer, get, keyauth, plugin, route, service, target, upstream } from '../support/proxy-fixtures.ts';
import { snapshot } from '../support/proxy-fixtures.ts';
import { VIA_H2 } from '../../src/proxy/version.ts';
import { caChain, type CaChain } from '../support/tls-fixtures.ts';
import { greeterClient, greeterServer, grpc, serverStream, unary, type GreeterServer, type HelloReply } from '../support/grpc-greeter.ts';
import { defaultTlsContextSettings } from '../../src/proxy/tls-settings.ts';

let pki: CaChain;
let plainUp: GreeterServer;
let tlsUp: GreeterServer;
let proxy: ProxyServer;
let h2cPort: number;
let tlsPort: number;
let plainPort: number;
const grpcSvc = service({ protocol: 'grpc' });
const grpcsSvc = service({ protocol: 'grpcs' });
const deadSvc = service({ protocol: 'grpc', retries: 0 });
const caId = randomUUID();
const retryUp = upstream('grpc-retry');
const retrySvc = service({ protocol: 'grpc', host: 'grpc-retry', port: 80 });
const verifiedSvc = service({ protocol: 'grpcs', tls_verify: true, ca_certificates: [caId] });
const unverifiableSvc = service({ protocol: 'grpcs', tls_verify: true, retries: 0 });
const closed = route(grpcSvc, { protocols: ['grpc', 'grpcs'], hosts: ['closed.grpc'], strip_path: false });
const alice = consumer('alice');

beforeAll(async () => {
  pki = caChain();
  plainUp = await greeterServer();
  tlsUp = await greeterServer(pki.direct);
  grpcSvc.port = plainUp.port;
  grpcsSvc.port = tlsUp.port;
  deadSvc.port = await freePort();
  const refused = await freePort();
  verifiedSvc.port = tlsUp.port;
  unverifiableSvc.port = tlsUp.port;
  proxy = await createProxyServer({
    tls: { cert: [pki.direct.cert], key: [pki.direct.key], settings: defaultTlsContextSettings() },
    snapshot: snapshot({
      services: [grpcSvc, grpcsSvc, deadSvc, verifiedSvc, unverifiableSvc, retrySvc],
      // Round-robin over a refused target and a live one: of four calls, some pick the
      // refused one first and are answered only through a retry.
      upstreams: [retryUp],
      targets: [target(retryUp, `127.0.0.1:${refused}`), target(retryUp, `127.0.0.1:${plainUp.port}`)],
      ca_certificates: [{ id: caId, cert: pki.root, cert_digest: 'x', tags: null, created_at: 1, updated_at: 1 }],
      routes: [
        route(grpcSvc, { protocols: ['grpc', 'grpcs'], hosts: ['plain.grpc'], strip_path: false }),
        route(grpcsSvc, { protocols: ['grpc', 'grpcs'], hosts: ['tls.grpc'], strip_path: false }),
        route(grpcSvc, { protocols: ['grpcs'], hosts: ['only-tls.grpc'], strip_path: false }),
        route(grpcSvc, { protocols: ['grpc'], hosts: ['grpc_authority_1.example'], strip_path: false, preserve_host: true }),
        route(deadSvc, { protocols: ['grpc'], hosts: ['dead.grpc'], strip_path: false }),
        route(retrySvc, { protocols: ['grpc'], hosts: ['retry.grpc'], strip_path: false }),
        route(verifiedSvc, { protocols: ['grpc'], hosts: ['verified.grpc'], strip_path: false }),
        route(unverifiableSvc, { protocols: ['grpc'], hosts: ['unverifiable.grpc'], strip_path: false }),
        closed,
      ],
      plugins: [plugin('key-auth', { key_names: ['apikey'] }, { route: { id: closed.id }, protocols: ['grpc', 'grpcs'] })],
      consumers: [alice],
      keyauth_credentials: [keyauth(alice, 'secret')],
    }),
  });
  h2cPort = (await proxy.listen(0, '127.0.0.1', false, { http2: true })).port;
  tlsPort = (await proxy.listen(0, '127.0.0.1', true, { http2: true })).port;
  plainPort = (await proxy.listen(0, '127.0.0.1')).port;
}, 30_000);

afterAll(async () => {
  await proxy?.close();
  await plainUp?.close();
  await tlsUp?.close();
});

const h2c = (authority: string) => greeterClient(h2cPort, authority);
const overTls = (authority: string) => greeterClient(tlsPort, authority, pki.root);

describe('proxies gRPC (19-grpc_proxy_spec.lua)', () => {
  test('proxies grpc: unary over h2c to an h2c upstream', async () => {
    const r = await unary<HelloReply>(h2c('plain.grpc'), 'SayHello', { name: 'kong' });
    expect(r.error).toBeUndefined();
    expect(r.value!.message).toBe('hello kong');
    expect(r.value!.forwarded_proto).toBe('http');
    // 35-via_spec.lua, "gRPC without SSL in both the inbound and outbound directions".
    expect(r.value!.via).toBe(VIA_H2);
    // "sets default :authority header if `preserve_host` isn't set": the upstream's address.
    expect(r.value!.authority).toBe(`127.0.0.1:${plainUp.port}`);
  });

  test('proxies grpc, streaming response', async () => {
    const r = await serverStream<HelloReply>(h2c('plain.grpc'), 'SayHellos', { name: 'kong', count: 3 });
    expect(r.status.code).toBe(grpc.status.OK);
    expect(r.messages.map((m) => m.message)).toEqual(['hello kong #1', 'hello kong #2', 'hello kong #3']);
  });

  test('proxies grpc, streaming request', async () => {
    const r = await new Promise<{ error: grpc.ServiceError | null; value?: HelloReply }>((resolve) => {
      const call = h2c('plain.grpc').SayHelloToAll!({ deadline: Date.now() + 10_000 }, (error: grpc.ServiceError | null, value: HelloReply) => resolve({ error, value })) as grpc.ClientWritableStream<object>;
      for (const name of ['a', 'b', 'c']) call.write({ name });
      call.end();
    });
    expect(r.error).toBeNull();
    expect(r.value!.message).toBe('hello a, b, c');
  });

  test('proxies grpc, streaming request/response: each answer arrives before the next request is sent', async () => {
    const call = h2c('plain.grpc').Chat!({ deadline: Date.now() + 10_000 }) as grpc.ClientDuplexStream<object, HelloReply>;
    const got: string[] = [];
    for (const name of ['x', 'y']) {
      const next = new Promise<HelloReply>((resolve) => call.once('data', resolve));
      call.write({ name });
      got.push((await next).message);
    }
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.end();
    expect(got).toEqual(['hello x', 'hello y']);
    expect((await status).code).toBe(grpc.status.OK);
  });

  test('proxies :authority header if `preserve_host` is set', async () => {
    const r = await unary<HelloReply>(h2c('grpc_authority_1.example'), 'SayHello', { name: 'x' });
    expect(r.value?.authority).toBe('grpc_authority_1.example');
  });

  test('proxies :authority header on balancer retry: a refused target, then the next one', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await unary<HelloReply>(h2c('retry.grpc'), 'SayHello', { name: 'again' });
      expect(r.error).toBeUndefined();
      expect(r.value!.message).toBe('hello again');
      expect(r.value!.authority).toBe(`127.0.0.1:${plainUp.port}`);
    }
  });

  test('proxies grpcs: TLS from the client, TLS to a grpcs upstream', async () => {
    const r = await unary<HelloReply>(overTls('tls.grpc'), 'SayHello', { name: 'tls' });
    expect(r.error).toBeUndefined();
    expect(r.value!.message).toBe('hello tls');
    expect(r.value!.forwarded_proto).toBe('https');
    const s = await serverStream<HelloReply>(overTls('tls.grpc'), 'SayHellos', { name: 'tls', count: 2 });
    expect(s.status.code).toBe(grpc.status.OK);
    expect(s.messages).toHaveLength(2);
  });

  test("the upstream's grpc-status, grpc-message and trailers reach the client", async () => {
    for (const client of [h2c('plain.grpc'), overTls('tls.grpc')]) {
      const r = await unary(client, 'Fail', { code: grpc.status.NOT_FOUND, message: 'no such greeting' });
      expect(r.error?.code).toBe(grpc.status.NOT_FOUND);
      expect(r.error?.details).toBe('no such greeting');
      expect(r.error?.metadata.get('x-detail')).toEqual(['from-upstream']);
      // 35-via_spec.lua's gRPC cases: the client's Via is this proxy's HTTP/2 hop.
      expect(r.error?.metadata.get('via')).toEqual([VIA_H2]);
    }
  });

  test('grpcs with tls_verify: the service\'s ca_certificates accept the upstream; without them it is refused (13)', async () => {
    expect((await unary<HelloReply>(h2c('verified.grpc'), 'SayHello', { name: 'v' })).value?.message).toBe('hello v');
    const r = await unary(h2c('unverifiable.grpc'), 'SayHello', { name: 'v' });
    expect(r.error?.code).toBe(grpc.status.INTERNAL);
    expect(r.error?.details).toBe('An invalid response was received from the upstream server');
  });

  test('grpc on grpcs route: Code Canceled, "gRPC request matched gRPCs route"', async () => {
    const r = await unary(h2c('only-tls.grpc'), 'SayHello', { name: 'x' });
    expect(r.error?.code).toBe(grpc.status.CANCELLED);
    expect(r.error?.details).toBe('gRPC request matched gRPCs route');
    // Over TLS the same route proxies.
    expect((await unary<HelloReply>(overTls('only-tls.grpc'), 'SayHello', { name: 'x' })).value?.message).toBe('hello x');
  });
});

describe("Kong's gRPC answers", () => {
  test('no route: 404 with grpc-status 5 (NotFound), as kong.response.error answers a gRPC client', async () => {
    const session = http2.connect(`http://127.0.0.1:${h2cPort}`);
    const head = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
      const req = session.request({ ':method': 'POST', ':path': '/gossamer.test.Greeter/SayHello', ':authority': 'nowhere.grpc', 'content-type': 'application/grpc', te: 'trailers' });
      req.on('response', resolve);
      req.on('error', reject);
      req.end();
    });
    session.close();
    expect(head[':status']).toBe(404);
    expect(head['grpc-status']).toBe('5');
    expect(head['grpc-message']).toBe('NotFound');
    expect(head['content-type']).toBe('application/grpc');
    const r = await unary(h2c('nowhere.grpc'), 'SayHello', { name: 'x' });
    expect(r.error?.code).toBe(grpc.status.NOT_FOUND);
  });

  test('a plugin refusing a gRPC request: grpc-status 16 with its message (kong.response.exit for a gRPC client)', async () => {
    const r = await unary(h2c('closed.grpc'), 'SayHello', { name: 'x' });
    expect(r.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(r.error?.details).toBe('No API key found in request');
    const md = new grpc.Metadata();
    md.set('apikey', 'secret');
    const ok = await unary<HelloReply>(h2c('closed.grpc'), 'SayHello', { name: 'key' }, md);
    expect(ok.value?.message).toBe('hello key');
  });

  test('an unreachable upstream: 502 with grpc-status 13 and the error handler message', async () => {
    const r = await unary(h2c('dead.grpc'), 'SayHello', { name: 'x' });
    expect(r.error?.code).toBe(grpc.status.INTERNAL);
    expect(r.error?.details).toBe('An invalid response was received from the upstream server');
  });

  test('non-grpc request on grpc and grpcs routes (no content-type, non-grpc content-type): 415 "Non-gRPC request matched gRPC route"', async () => {
    const cases: [string, string, http2.OutgoingHttpHeaders][] = [
      [`http://127.0.0.1:${h2cPort}`, 'plain.grpc', {}],
      [`https://127.0.0.1:${tlsPort}`, 'only-tls.grpc', {}],
      [`http://127.0.0.1:${h2cPort}`, 'plain.grpc', { 'content-type': 'application/json' }],
      [`https://127.0.0.1:${tlsPort}`, 'only-tls.grpc', { 'content-type': 'application/json' }],
    ];
    for (const [origin, authority, extra] of cases) {
      const session = http2.connect(origin, { rejectUnauthorized: false });
      const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': '/', ':authority': authority, ...extra });
        let body = '';
        let status = 0;
        req.on('response', (h) => (status = Number(h[':status'])));
        req.on('data', (c: Buffer) => (body += c));
        req.on('end', () => resolve({ status, body }));
        req.on('error', reject);
        req.end('{}');
      });
      session.close();
      expect(res.status).toBe(415);
      expect(JSON.parse(res.body).message).toBe('Non-gRPC request matched gRPC route');
    }
  });

  test('non-http2 request on grpc and grpcs routes: 426 "Please use HTTP2 protocol"', async () => {
    const r = await get(`http://127.0.0.1:${plainPort}/`, { method: 'POST', headers: { host: 'plain.grpc', 'content-type': 'application/grpc' } });
    expect(r.status).toBe(426);
    expect(r.json().message).toBe('Please use HTTP2 protocol');
    expect(r.headers.upgrade).toBe('HTTP/2');
    // HTTP/1.1 over TLS (ALPN http/1.1) to a grpcs route.
    const overTls = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: tlsPort, method: 'POST', path: '/', headers: { host: 'only-tls.grpc', 'content-type': 'application/grpc' }, rejectUnauthorized: false, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(overTls.status).toBe(426);
    expect(JSON.parse(overTls.body).message).toBe('Please use HTTP2 protocol');
  });
});
