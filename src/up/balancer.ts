// The load balancer in front of a local cluster: the role nginx's `upstream` block plays in
// Kong's clustering tutorial. Round-robin over the nodes whose Admin API answers
// `GET /status` with 200, re-checked every `checkIntervalMs`; a node that refuses a
// connection is skipped at once and the request goes to the next one (nginx's
// `proxy_next_upstream error`). `gossamer up` and the chaos simulator both use it.
import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import httpProxy from 'http-proxy';
import type { Logger } from '../log.ts';
import { Backends, CONNECT_ERRORS, errorCode, type BackendStats, type BalancerBackend, type Entry } from './backends.ts';

export type { BackendStats, BalancerBackend } from './backends.ts';

export interface BalancerOptions {
  listen: { host?: string; port: number };
  backends: BalancerBackend[];
  logger?: Logger;
  /** How often every backend's status URL is polled (default 500 ms). */
  checkIntervalMs?: number;
  /** A status check slower than this counts as failed (default 1000 ms). */
  checkTimeoutMs?: number;
  /** When set, every response carries this header naming the node that served it. */
  servedByHeader?: string;
  /** Request bodies are buffered so a request can be retried on another node (default 64 MiB). */
  maxBodyBytes?: number;
  /** Consecutive failed status checks before a node leaves the rotation (nginx's max_fails; default 2). */
  failsToDown?: number;
  /**
   * Wait this long for a node's response head (default 60 s, nginx's proxy_read_timeout). An
   * idempotent request that times out is retried on the next node (proxy_next_upstream timeout),
   * which is what lets traffic route around a frozen node before its status checks fail.
   */
  upstreamTimeoutMs?: number;
}

export interface BalancerStats {
  requests: number;
  /** Requests answered with the balancer's own 502/503 (no node could take them). */
  failed: number;
  /** Requests that reached a node only after another one failed. */
  retried: number;
  backends: BackendStats[];
}

/**
 * A backend counts as down until its first status check passes (a request meanwhile gets 503),
 * so await `checked()` once after start when the nodes are already up.
 */
export interface Balancer {
  /** The port actually bound (useful with listen.port 0). */
  port: number;
  url: string;
  stats(): BalancerStats;
  /** Replace the set of backends (the simulator adds and removes nodes); keeps health of known names. */
  setBackends(backends: BalancerBackend[]): void;
  /** Resolves after the next round of status checks (tests and the launcher wait on it). */
  checked(): Promise<void>;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);
// After a failure mid-request the node may have acted on it: only these are safe to resend.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const SOCKET_ERRORS = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE', 'UND_ERR_CLOSED']);

class BodyTooLarge extends Error {}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.destroy();
        reject(new BodyTooLarge(`request body over ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(size === 0 ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: http.ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ message });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Headers without the hop-by-hop ones, which belong to one connection, not to the message. */
function endToEnd(from: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(from)) {
    if (v === undefined || HOP_BY_HOP.has(k)) continue;
    out[k] = v;
  }
  return out;
}

/** What forwarding needs: the rotation, the totals it counts into and the options. */
interface Forwarding {
  backends: Backends;
  totals: { requests: number; failed: number; retried: number };
  maxBody: number;
  upstreamTimeout: number;
  servedByHeader?: string;
  log?: Logger;
}

async function forward(f: Forwarding, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  f.totals.requests++;
  let body: Buffer | undefined;
  try {
    body = await readBody(req, f.maxBody);
  } catch (err) {
    if (err instanceof BodyTooLarge) sendJson(res, 413, 'Request body too large for the load balancer');
    else res.destroy();
    return;
  }
  const headers = endToEnd(req.headers);
  // nginx's `proxy_set_header Host $host` and `X-Real-IP $remote_addr` from the tutorial.
  if (req.headers.host) headers.host = req.headers.host;
  headers['x-real-ip'] = req.socket.remoteAddress ?? '';
  let tried = f.backends.candidates();
  if (tried.length === 0) tried = f.backends.lastResort();
  if (tried.length === 0) {
    f.totals.failed++;
    sendJson(res, 503, 'no healthy Gossamer node behind the load balancer');
    return;
  }
  if (await tryInTurn(f, tried, req, res, headers, body)) return;
  f.totals.failed++;
  sendJson(res, 502, 'An invalid response was received from the upstream server');
}

/**
 * Each backend in turn until one answers (nginx's proxy_next_upstream error timeout); false
 * when none did and the request cannot be resent.
 */
async function tryInTurn(f: Forwarding, tried: Entry[], req: http.IncomingMessage, res: http.ServerResponse, headers: Record<string, string | string[]>, body: Buffer | undefined): Promise<boolean> {
  const method = req.method ?? 'GET';
  for (let i = 0; i < tried.length; i++) {
    const e = tried[i]!;
    try {
      const up = await e.pool.request({ path: req.url ?? '/', method, headers, body, headersTimeout: f.upstreamTimeout, bodyTimeout: 60_000 });
      e.requests++;
      if (i > 0) f.totals.retried++;
      const outHeaders = endToEnd(up.headers);
      if (f.servedByHeader) outHeaders[f.servedByHeader] = e.backend.name;
      res.writeHead(up.statusCode, outHeaders);
      await pipeline(up.body, res).catch(() => res.destroy());
      return true;
    } catch (err) {
      const code = errorCode(err);
      const retryable = CONNECT_ERRORS.has(code) || ((SOCKET_ERRORS.has(code) || code === 'UND_ERR_HEADERS_TIMEOUT') && IDEMPOTENT.has(method));
      e.failures++;
      if (CONNECT_ERRORS.has(code)) f.backends.setHealth(e, false, code);
      f.log?.warn({ backend: e.backend.name, code, method, url: req.url }, 'forwarding failed');
      if (!retryable || res.headersSent) break;
    }
  }
  return false;
}

/** WebSocket upgrades go to the next healthy node, not retried. */
function upgrader(backends: Backends): { onUpgrade: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void; close: () => void } {
  const wsProxy = httpProxy.createProxyServer({ ws: true, xfwd: false });
  wsProxy.on('error', (_err, _req, target) => {
    (target as Duplex | undefined)?.destroy?.();
  });
  return {
    onUpgrade: (req, socket, head) => {
      const e = backends.candidates()[0];
      if (!e) {
        socket.destroy();
        return;
      }
      e.requests++;
      wsProxy.ws(req, socket, head, { target: e.backend.proxyUrl });
    },
    close: () => wsProxy.close(),
  };
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Stops accepting, gives in-flight responses a moment, then cuts what is left so close() never hangs. */
async function closeServer(server: http.Server, sockets: Set<net.Socket>): Promise<void> {
  const done = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const force = setTimeout(() => {
    for (const s of sockets) s.destroy();
  }, 2_000);
  await done;
  clearTimeout(force);
}

export async function startBalancer(opts: BalancerOptions): Promise<Balancer> {
  const log = opts.logger;
  const backends = new Backends({ intervalMs: opts.checkIntervalMs ?? 500, checkTimeoutMs: opts.checkTimeoutMs ?? 1000, failsToDown: opts.failsToDown ?? 2, log });
  backends.set(opts.backends);
  const totals = { requests: 0, failed: 0, retried: 0 };
  const f: Forwarding = { backends, totals, maxBody: opts.maxBodyBytes ?? 64 * 1024 * 1024, upstreamTimeout: opts.upstreamTimeoutMs ?? 60_000, servedByHeader: opts.servedByHeader, log };
  const ws = upgrader(backends);

  const server = http.createServer((req, res) => {
    forward(f, req, res).catch((err) => {
      log?.error({ err }, 'load balancer error');
      sendJson(res, 500, 'load balancer error');
    });
  });
  server.on('upgrade', ws.onUpgrade);
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  const host = opts.listen.host ?? '127.0.0.1';
  await listen(server, opts.listen.port, host);
  const port = (server.address() as net.AddressInfo).port;
  void backends.loop();

  let closed = false;
  return {
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    stats: () => ({ ...totals, backends: backends.stats() }),
    setBackends: (b) => backends.set(b),
    checked: () => backends.checked(),
    close: async () => {
      if (closed) return;
      closed = true;
      backends.stop();
      await closeServer(server, sockets);
      ws.close();
      await backends.close();
    },
  };
}
