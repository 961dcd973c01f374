import http from 'node:http';
import type net from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBalancer, type Balancer } from '../../src/up/balancer.ts';

// A stand-in node: a "proxy" port that echoes what it received and names itself, and an
// "admin" port whose /status answers with a status the test controls.
interface FakeNode {
  name: string;
  proxyUrl: string;
  statusUrl: string;
  statusCode: number;
  seen: { method: string; url: string; body: string; headers: http.IncomingHttpHeaders }[];
  closeProxy(): Promise<void>;
  close(): Promise<void>;
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

async function fakeNode(name: string): Promise<FakeNode> {
  const node = { name, statusCode: 200, seen: [] } as unknown as FakeNode;
  const proxy = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      node.seen.push({ method: req.method!, url: req.url!, body: Buffer.concat(chunks).toString(), headers: req.headers });
      res.writeHead(201, { 'content-type': 'text/plain', 'x-node': name, 'set-cookie': ['a=1', 'b=2'] });
      res.end(`hello from ${name}`);
    });
  });
  const admin = http.createServer((req, res) => {
    res.writeHead(req.url === '/status' ? node.statusCode : 404);
    res.end('{}');
  });
  const [pp, ap] = await Promise.all([listen(proxy), listen(admin)]);
  node.proxyUrl = `http://127.0.0.1:${pp}`;
  node.statusUrl = `http://127.0.0.1:${ap}/status`;
  let proxyClosed = false;
  node.closeProxy = () =>
    new Promise<void>((r) => {
      proxyClosed = true;
      proxy.close(() => r());
      proxy.closeAllConnections();
    });
  node.close = async () => {
    if (!proxyClosed) await node.closeProxy();
    await new Promise<void>((r) => {
      admin.close(() => r());
      admin.closeAllConnections();
    });
  };
  return node;
}

let nodes: FakeNode[] = [];
let lb: Balancer;

beforeAll(async () => {
  nodes = await Promise.all(['a', 'b', 'c'].map(fakeNode));
  lb = await startBalancer({
    listen: { host: '127.0.0.1', port: 0 },
    backends: nodes.map((n) => ({ name: n.name, proxyUrl: n.proxyUrl, statusUrl: n.statusUrl })),
    checkIntervalMs: 100,
    servedByHeader: 'x-served-by',
  });
  await lb.checked();
});

afterAll(async () => {
  await lb?.close();
  await Promise.all(nodes.map((n) => n.close()));
});

async function send(method = 'GET', path = '/x', body?: string) {
  // undici.request, not fetch: fetch may not set Host.
  const res = await request(`${lb.url}${path}`, { method: method as 'GET', body, headers: { host: 'api.example.test' } });
  return { status: res.statusCode, node: res.headers['x-served-by'] as string, text: await res.body.text(), headers: res.headers };
}

test('round-robin over healthy nodes, forwarding method, path, body, Host and X-Real-IP', async () => {
  const served: string[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await send('POST', `/things?i=${i}`, `body-${i}`);
    expect(r.status).toBe(201);
    expect(r.text).toBe(`hello from ${r.node}`);
    expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    served.push(r.node!);
  }
  for (const n of nodes) expect(served.filter((s) => s === n.name)).toHaveLength(2);
  const last = nodes.flatMap((n) => n.seen).find((s) => s.url === '/things?i=5')!;
  expect(last).toMatchObject({ method: 'POST', body: 'body-5' });
  expect(last.headers.host).toBe('api.example.test');
  expect(last.headers['x-real-ip']).toBe('127.0.0.1');
});

test('a node whose /status is not 200 gets no traffic until it recovers', async () => {
  nodes[1]!.statusCode = 503;
  await lb.checked();
  await lb.checked();
  expect(lb.stats().backends.find((b) => b.name === 'b')).toMatchObject({ healthy: false, lastCheckError: 'status 503' });
  const served = new Set<string>();
  for (let i = 0; i < 6; i++) served.add((await send()).node!);
  expect([...served].sort()).toEqual(['a', 'c']);
  nodes[1]!.statusCode = 200;
  await lb.checked();
  await lb.checked();
  const after = new Set<string>();
  for (let i = 0; i < 6; i++) after.add((await send()).node!);
  expect([...after].sort()).toEqual(['a', 'b', 'c']);
});

test('a node that refuses connections is skipped at once and the request goes to the next one', async () => {
  const before = lb.stats().retried;
  // Proxy gone, status still 200: only the forwarding error can reveal it.
  await nodes[2]!.closeProxy();
  for (let i = 0; i < 6; i++) {
    const r = await send('POST', '/retry', 'x');
    expect(r.status).toBe(201);
    expect(r.node).not.toBe('c');
  }
  const c = lb.stats().backends.find((b) => b.name === 'c')!;
  expect(c.failures).toBeGreaterThan(0);
  expect(lb.stats().retried).toBeGreaterThan(before);
});

test('no healthy node: 503 with a JSON message', async () => {
  for (const n of nodes) n.statusCode = 500;
  await lb.checked();
  await lb.checked();
  const r = await send();
  expect(r.status).toBe(503);
  expect(JSON.parse(r.text).message).toMatch(/no healthy/);
  expect(lb.stats().failed).toBeGreaterThan(0);
  for (const n of nodes) n.statusCode = 200;
});

test('close() releases the port', async () => {
  const other = await startBalancer({ listen: { port: 0 }, backends: [] });
  const port = other.port;
  await other.close();
  const srv = http.createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve());
  });
  await new Promise<void>((r) => srv.close(() => r()));
});
