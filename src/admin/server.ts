// The Admin API server: node:http, the router, Kong's error bodies, and the rule that no
// request — however malformed — gets a stack trace or takes the node down.
import http from 'node:http';
import https from 'node:https';
import type { TlsMaterial } from '../proxy/tls-certs.ts';
import { secureContextOptions } from '../proxy/tls-settings.ts';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import type { Logger } from 'pino';
import { Router, type AdminRequest, type AdminResponse } from './router.ts';
import { DEFAULT_BODY_LIMIT, parseBody, readRaw, type BodyKind } from './body.ts';
import { KongError, methodNotAllowed, notFound } from '../entities/errors.ts';
import { describePgCause, isConnectionError } from '../db/pool.ts';
import type { ChangeEvent } from '../entities/types.ts';
import { registerRoot, type NodeInfo, type ServerCounters } from './root.ts';
import { registerServices } from './services.ts';
import { registerRoutes } from './routes.ts';
import { registerConsumers } from './consumers.ts';
import { registerPlugins } from './plugins.ts';
import { registerUpstreams } from './upstreams.ts';
import { registerCertificates } from './certificates.ts';
import { registerConsumerCredential } from './credentials.ts';
import { pluginEndpoints } from '../plugins/registry.ts';
import { registerSchemas } from './schemas.ts';
import { registerTags } from './tags.ts';
import type { AdminContext } from './crud.ts';

export interface AdminDeps {
  /** Null on a data plane: no database, only the groups others register. */
  pool: pg.Pool | null;
  nodeInfo: NodeInfo;
  /** The node's configuration for GET / (secrets are removed again here). */
  configSummary: Record<string, unknown>;
  /** Called after commit and before the response (local cache invalidation, gossip). */
  onChanges?(events: ChangeEvent[]): Promise<void> | void;
  /** When set, every entity write answers 400 with this message. */
  readOnly?: string;
  logger?: Logger;
  /** Request body limit in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Extra top-level fields of GET /status (configuration_hash, cluster...). */
  statusExtra?: () => Record<string, unknown> | Promise<Record<string, unknown>>;
}

export interface AdminServer {
  server: http.Server;
  router: Router;
  /** One more address; with `tls`, HTTPS (admin_listen's ssl flag). */
  listen(host: string, port: number, tls?: TlsMaterial): Promise<{ host: string; port: number }>;
  close(): Promise<void>;
}

/**
 * Node hands a request line's raw bytes over as latin1 characters; a client that sends UTF-8
 * unescaped (`/consumers?tags=🦍`, as Kong's own test client does) means those bytes.
 */
function rawBytesEscaped(url: string): string {
  if (!/[^\x00-\x7f]/.test(url)) return url;
  let out = '';
  for (const ch of url) {
    const c = ch.charCodeAt(0);
    out += c > 0x7f && c <= 0xff ? `%${c.toString(16).toUpperCase().padStart(2, '0')}` : ch;
  }
  return out;
}

/** Kong's answer to OPTIONS (kong/api/init.lua): the methods sorted, HEAD with GET, and CORS headers. */
function optionsHeaders(allowed: string[]): Record<string, string> {
  const methods = new Set([...allowed, 'OPTIONS']);
  if (methods.has('GET')) methods.add('HEAD');
  const list = [...methods].sort().join(', ');
  return { Allow: list, 'Access-Control-Allow-Methods': list, 'Access-Control-Allow-Headers': 'Content-Type', 'Access-Control-Allow-Origin': '*' };
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function send(res: http.ServerResponse, r: AdminResponse, started: number, version: string) {
  if (res.headersSent) return;
  const headers: Record<string, string> = {
    // Kong's name: scripts written for Kong look for it.
    'X-Kong-Admin-Latency': String(Math.round(performance.now() - started)),
    Server: `gossamer/${version}`,
    ...r.headers,
  };
  if (r.status === 204 || r.body === undefined) {
    res.writeHead(r.status, headers);
    res.end();
    return;
  }
  // A handler that sets its own Content-Type and gives a string (e.g. /metrics in
  // the metrics text format) is sent as it is.
  if (typeof r.body === 'string' && r.headers?.['Content-Type']) {
    headers['Content-Length'] = String(Buffer.byteLength(r.body));
    res.writeHead(r.status, headers);
    res.end(r.body);
    return;
  }
  const json = JSON.stringify(r.body);
  headers['Content-Type'] = 'application/json; charset=utf-8';
  headers['Content-Length'] = String(Buffer.byteLength(json));
  res.writeHead(r.status, headers);
  res.end(json);
}

function errorResponse(err: unknown, method: string, logger?: Logger): AdminResponse {
  if (err instanceof KongError) return { status: err.status, body: err.body };
  if (isConnectionError(err)) {
    const cause = describePgCause(err);
    return {
      status: 503,
      body: {
        message: WRITE_METHODS.has(method)
          ? `database unavailable: ${cause}; writes are refused until it returns`
          : `database unavailable: ${cause}`,
      },
    };
  }
  const code = (err as { code?: string })?.code;
  if (code === '42P01') {
    return { status: 503, body: { message: "database not bootstrapped; run 'gossamer migrations bootstrap'" } };
  }
  logger?.error({ err: (err as Error)?.message, stack: (err as Error)?.stack }, 'admin API: unexpected error');
  return { status: 500, body: { message: 'An unexpected error occurred' } };
}

/** Every entity's endpoints (core's, then each plugin's), or none without a database. */
function registerResources(router: Router, deps: AdminDeps): void {
  if (!deps.pool) return;
  const ctx: AdminContext = {
    pool: deps.pool,
    nodeId: deps.nodeInfo.id,
    onChanges: deps.onChanges ?? (() => {}),
    readOnly: deps.readOnly,
    logger: deps.logger,
  };
  registerServices(router, ctx);
  registerRoutes(router, ctx);
  registerConsumers(router, ctx);
  registerPlugins(router, ctx);
  registerUpstreams(router, ctx);
  registerCertificates(router, ctx);
  for (const spec of pluginEndpoints()) registerConsumerCredential(router, ctx, spec);
  registerTags(router, deps.pool);
}

/** One request: route it, run its handler, answer with Kong's error bodies on failure. */
function requestHandler(router: Router, counters: ServerCounters, deps: AdminDeps) {
  const bodyLimit = deps.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const logger = deps.logger;
  return async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const started = performance.now();
    counters.total_requests++;
    counters.connections_writing++;
    const method = (req.method ?? 'GET').toUpperCase();
    let response: AdminResponse;
    try {
      let url: URL;
      try {
        url = new URL(rawBytesEscaped(req.url ?? '/'), 'http://admin.invalid');
      } catch {
        throw notFound();
      }
      const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
      const match = router.match(method, path);
      if (match.kind === 'none') throw notFound();
      if (match.kind === 'method') {
        if (method === 'OPTIONS') {
          response = { status: 204, headers: optionsHeaders(match.allowed) };
          send(res, response, started, deps.nodeInfo.version);
          return;
        }
        throw methodNotAllowed();
      }
      let parsed: { kind: BodyKind; body: Record<string, unknown> } | undefined;
      const adminReq: AdminRequest = {
        method,
        path,
        params: match.params,
        query: url.searchParams,
        headers: req.headers,
        raw: req,
        async body() {
          if (!parsed) parsed = parseBody(await readRaw(req, bodyLimit), req.headers['content-type']);
          return structuredClone(parsed.body);
        },
        bodyKind: () => parsed?.kind ?? 'none',
      };
      response = await match.handler(adminReq);
    } catch (err) {
      response = errorResponse(err, method, logger);
    } finally {
      counters.connections_writing--;
    }
    send(res, response, started, deps.nodeInfo.version);
  };
}

export function createAdminServer(deps: AdminDeps): AdminServer {
  const router = new Router();
  const counters: ServerCounters = {
    connections_active: 0,
    connections_accepted: 0,
    connections_handled: 0,
    connections_reading: 0,
    connections_writing: 0,
    connections_waiting: 0,
    total_requests: 0,
  };
  const logger = deps.logger;

  registerRoot(router, { pool: deps.pool, nodeInfo: deps.nodeInfo, configSummary: deps.configSummary, counters, statusExtra: deps.statusExtra });
  registerResources(router, deps);
  registerSchemas(router);
  // Kong 3's GET /endpoints: every registered pattern, `{param}` style, read at request time
  // so groups added later (cluster members, metrics) are listed too.
  router.add('GET', '/endpoints', () => ({
    status: 200,
    body: { data: [...new Set(router.list().map((r) => r.pattern.replace(/:([A-Za-z_]+)/g, '{$1}')))].sort() },
  }));

  const handle = requestHandler(router, counters, deps);
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    handle(req, res).catch((err) => {
      // Only a bug in send() itself can land here; answer anyway rather than hang.
      logger?.error({ err: (err as Error)?.message }, 'admin API: response failed');
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end('{"message":"An unexpected error occurred"}');
    });
  };
  const makeServer = (tls?: TlsMaterial) => {
    // The ssl_* keys apply as on the proxy's ssl listeners (protocols, ciphers, tickets).
    const srv = tls ? https.createServer({ cert: tls.cert, key: tls.key, ...secureContextOptions(tls.settings) }, onRequest) : http.createServer(onRequest);
    srv.on('connection', (socket) => {
      counters.connections_accepted++;
      counters.connections_handled++;
      counters.connections_active++;
      socket.once('close', () => counters.connections_active--);
    });
    // Requests the HTTP parser rejects (bad method, broken headers) get a 400 and a closed socket.
    srv.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      // A method node's parser does not know (`GEEEET /`): Kong routes it and answers 405.
      const notAllowed = '{"message":"Method not allowed"}';
      if (err.code === 'HPE_INVALID_METHOD' && socket.writable) {
        socket.end(`HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${notAllowed.length}\r\n\r\n${notAllowed}`);
        return;
      }
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 25\r\n\r\n{"message":"Bad request"}');
      else socket.destroy();
    });
    srv.keepAliveTimeout = 5000;
    srv.headersTimeout = 10_000;
    srv.requestTimeout = 30_000;
    return srv;
  };
  const server = makeServer();
  // admin_listen may name several addresses: one http.Server each, one handler for all.
  const servers: http.Server[] = [];

  return {
    server,
    router,
    listen(host: string, port: number, tls?: TlsMaterial) {
      const srv = servers.length === 0 && !tls ? server : makeServer(tls);
      servers.push(srv);
      return new Promise((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(port, host, () => {
          srv.off('error', reject);
          const a = srv.address() as AddressInfo;
          resolve({ host: a.address, port: a.port });
        });
      });
    },
    async close() {
      await Promise.all(
        servers.map(
          (srv) =>
            new Promise<void>((resolve) => {
              srv.close(() => resolve());
              srv.closeAllConnections();
            }),
        ),
      );
      servers.length = 0;
    },
  };
}
