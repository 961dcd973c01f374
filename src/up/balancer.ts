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
import { Pool, request } from 'undici';
import type { Logger } from '../log.ts';

export interface BalancerBackend {
  name: string;
  /** Base URL of the node's proxy, e.g. http://127.0.0.1:8100 */
  proxyUrl: string;
  /** The node's Admin API status URL, e.g. http://127.0.0.1:8101/status */
  statusUrl: string;
}

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

export interface BackendStats {
  name: string;
  proxyUrl: string;
  healthy: boolean;
  /** Requests answered by this backend (any status). */
  requests: number;
  /** Connection failures while forwarding to this backend. */
  failures: number;
  lastCheckAt: number | null;
  lastCheckError: string | null;
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
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);
// After a failure mid-request the node may have acted on it: only these are safe to resend.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const SOCKET_ERRORS = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE', 'UND_ERR_CLOSED']);

interface Entry {
  backend: BalancerBackend;
  pool: Pool;
  healthy: boolean;
  requests: number;
  failures: number;
  lastCheckAt: number | null;
  lastCheckError: string | null;
  checking: boolean;
  consecutiveFails: number;
}

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

function errorCode(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.code ?? e?.cause?.code ?? '';
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

export async function startBalancer(opts: BalancerOptions): Promise<Balancer> {
  const interval = opts.checkIntervalMs ?? 500;
  const checkTimeout = opts.checkTimeoutMs ?? 1000;
  const maxBody = opts.maxBodyBytes ?? 64 * 1024 * 1024;
  const log = opts.logger;
  let entries: Entry[] = [];
  let cursor = 0;
  let closed = false;
  const totals = { requests: 0, failed: 0, retried: 0 };
  let roundWaiters: (() => void)[] = [];

  const makeEntry = (backend: BalancerBackend, healthy = false): Entry => ({
    backend,
    pool: new Pool(backend.proxyUrl, { connections: 64, keepAliveTimeout: 4_000 }),
    healthy,
    requests: 0,
    failures: 0,
    lastCheckAt: null,
    lastCheckError: null,
    checking: false,
    consecutiveFails: 0,
  });

  const setBackends = (backends: BalancerBackend[]) => {
    const old = new Map(entries.map((e) => [e.backend.name, e]));
    entries = backends.map((b) => {
      const prev = old.get(b.name);
      if (prev && prev.backend.proxyUrl === b.proxyUrl) {
        old.delete(b.name);
        prev.backend = b;
        return prev;
      }
      return makeEntry(b);
    });
    for (const gone of old.values()) void gone.pool.close().catch(() => {});
  };
  setBackends(opts.backends);

  const failsToDown = opts.failsToDown ?? 2;
  const upstreamTimeout = opts.upstreamTimeoutMs ?? 60_000;
  const setHealth = (e: Entry, healthy: boolean, why: string | null, immediate = true) => {
    // One slow status answer on a busy machine is not a dead node: only `failsToDown` in a row
    // (or a refused connection, which is certain) take it out.
    e.consecutiveFails = healthy ? 0 : e.consecutiveFails + 1;
    if (!healthy && !immediate && e.healthy && e.consecutiveFails < failsToDown) {
      e.lastCheckError = why;
      return;
    }
    if (e.healthy !== healthy) log?.info({ backend: e.backend.name, healthy, why }, healthy ? 'backend is up' : 'backend is down');
    e.healthy = healthy;
    e.lastCheckError = why;
  };

  const checkOne = async (e: Entry) => {
    if (e.checking) return;
    e.checking = true;
    try {
      const r = await request(e.backend.statusUrl, { headersTimeout: checkTimeout, bodyTimeout: checkTimeout, signal: AbortSignal.timeout(checkTimeout) });
      await r.body.dump();
      setHealth(e, r.statusCode === 200, r.statusCode === 200 ? null : `status ${r.statusCode}`, false);
    } catch (err) {
      const code = errorCode(err);
      setHealth(e, false, code || (err as Error).message, CONNECT_ERRORS.has(code));
    } finally {
      e.lastCheckAt = Date.now();
      e.checking = false;
    }
  };

  const checkAll = async () => {
    await Promise.all(entries.map(checkOne));
    const waiters = roundWaiters;
    roundWaiters = [];
    for (const w of waiters) w();
  };

  let timer: NodeJS.Timeout | undefined;
  const loop = async () => {
    if (closed) return;
    await checkAll();
    if (!closed) timer = setTimeout(loop, interval);
  };

  /** Healthy backends in round-robin order, starting after the last one used. */
  const candidates = (): Entry[] => {
    const n = entries.length;
    const start = cursor++ % Math.max(n, 1);
    const out: Entry[] = [];
    for (let i = 0; i < n; i++) {
      const e = entries[(start + i) % n]!;
      if (e.healthy) out.push(e);
    }
    return out;
  };

  const forward = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    totals.requests++;
    let body: Buffer | undefined;
    try {
      body = await readBody(req, maxBody);
    } catch (err) {
      if (err instanceof BodyTooLarge) sendJson(res, 413, 'Request body too large for the load balancer');
      else res.destroy();
      return;
    }
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined || HOP_BY_HOP.has(k)) continue;
      headers[k] = v;
    }
    // nginx's `proxy_set_header Host $host` and `X-Real-IP $remote_addr` from the tutorial.
    if (req.headers.host) headers.host = req.headers.host;
    headers['x-real-ip'] = req.socket.remoteAddress ?? '';
    const method = req.method ?? 'GET';
    let tried = candidates();
    // nginx tries every server when all are marked down rather than refusing outright: a node
    // whose checks only timed out may just be slow (a busy machine), and a refused connection
    // is cheap to find out. A node that answered its check with a non-200 said it is not ready.
    if (tried.length === 0) tried = entries.filter((e) => e.lastCheckAt !== null && !e.lastCheckError?.startsWith('status '));
    if (tried.length === 0) {
      totals.failed++;
      sendJson(res, 503, 'no healthy Gossamer node behind the load balancer');
      return;
    }
    for (let i = 0; i < tried.length; i++) {
      const e = tried[i]!;
      try {
        const up = await e.pool.request({ path: req.url ?? '/', method, headers, body, headersTimeout: upstreamTimeout, bodyTimeout: 60_000 });
        e.requests++;
        if (i > 0) totals.retried++;
        const outHeaders: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(up.headers)) {
          if (v === undefined || HOP_BY_HOP.has(k)) continue;
          outHeaders[k] = v;
        }
        if (opts.servedByHeader) outHeaders[opts.servedByHeader] = e.backend.name;
        res.writeHead(up.statusCode, outHeaders);
        await pipeline(up.body, res).catch(() => res.destroy());
        return;
      } catch (err) {
        const code = errorCode(err);
        const retryable = CONNECT_ERRORS.has(code) || ((SOCKET_ERRORS.has(code) || code === 'UND_ERR_HEADERS_TIMEOUT') && IDEMPOTENT.has(method));
        e.failures++;
        if (CONNECT_ERRORS.has(code)) setHealth(e, false, code);
        log?.warn({ backend: e.backend.name, code, method, url: req.url }, 'forwarding failed');
        if (!retryable || res.headersSent) break;
      }
    }
    totals.failed++;
    sendJson(res, 502, 'An invalid response was received from the upstream server');
  };

  const wsProxy = httpProxy.createProxyServer({ ws: true, xfwd: false });
  wsProxy.on('error', (_err, _req, target) => {
    (target as Duplex | undefined)?.destroy?.();
  });
  const upgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const e = candidates()[0];
    if (!e) {
      socket.destroy();
      return;
    }
    e.requests++;
    wsProxy.ws(req, socket, head, { target: e.backend.proxyUrl });
  };

  const server = http.createServer((req, res) => {
    forward(req, res).catch((err) => {
      log?.error({ err }, 'load balancer error');
      sendJson(res, 500, 'load balancer error');
    });
  });
  server.on('upgrade', upgrade);
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  const host = opts.listen.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.listen.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  void loop();

  return {
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    stats: () => ({
      ...totals,
      backends: entries.map((e) => ({
        name: e.backend.name,
        proxyUrl: e.backend.proxyUrl,
        healthy: e.healthy,
        requests: e.requests,
        failures: e.failures,
        lastCheckAt: e.lastCheckAt,
        lastCheckError: e.lastCheckError,
      })),
    }),
    setBackends,
    checked: () => new Promise<void>((resolve) => roundWaiters.push(resolve)),
    close: async () => {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Give in-flight responses a moment, then cut what is left so close() never hangs.
      const force = setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, 2_000);
      await done;
      clearTimeout(force);
      wsProxy.close();
      await Promise.all(entries.map((e) => e.pool.close().catch(() => {})));
      for (const w of roundWaiters) w();
      roundWaiters = [];
    },
  };
}
