// The proxy listeners: plain and TLS servers whose requests go through the pipeline
// (pipeline.ts: router → plugins (access) → balancer → forwarder, with Kong's error answers)
// and whose upgrades go to the WebSocket relay (upgrade.ts). Used in-process by tests and the
// benchmark, and by each worker (worker-main.ts).
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { ChangeEvent, ConfigSnapshot } from '../entities/types.ts';
import { createLogger } from '../log.ts';
import type { CounterStore } from '../plugins/types.ts';
import { LocalCounters } from './counters.ts';
import { Forwarder } from './forwarder.ts';
import { logPhaseRunner, RequestPipeline, type Listener } from './pipeline.ts';
import { oneAtATime } from './one-at-a-time.ts';
import { loadPluginHandlers } from './plugin-chain.ts';
import { ProxyRuntime } from './runtime.ts';
import type { TlsMaterial } from './tls-certs.ts';
import { SniCertificates } from './sni-certs.ts';
import { alpnWire, terminateTls } from './tls-listener.ts';
import { secureContextOptions } from './tls-settings.ts';
import { createH2Server, sniffH2c, type H2Server } from './http2-listener.ts';
import { createSecureContext } from 'node:tls';
import { UpgradeHandler } from './upgrade.ts';
import { RealIp, type RealIpOptions } from './real-ip.ts';
import { acceptProxyProtocol } from './proxy-protocol.ts';
import { onClientError, onConnect } from './client-errors.ts';

export interface ProxyServerOptions {
  logger?: Logger;
  snapshot?: ConfigSnapshot;
  /** Rate-limit counters; defaults to per-process counters. Workers pass shared ones. */
  counters?: CounterStore;
  /** Workers: reach the same plugin in the node's other workers (PluginEnv.tellSiblings). */
  tellSiblings?: (plugin: string, msg: unknown) => void;
  debounceMs?: number;
  /** nginx's client_header_timeout (ms): the whole head must arrive within it (default 60 s). */
  headersTimeout?: number;
  /** A cap on a whole request (ms); 0 (the default) for none, as nginx has none. */
  requestTimeout?: number;
  /** nginx's client_body_timeout (ms): the longest pause between two reads of a request body. */
  clientBodyTimeout?: number;
  /** nginx's send_timeout (ms): the longest a client may leave a blocked answer unread. */
  sendTimeout?: number;
  /** nginx's keepalive_timeout (ms): client keep-alive idle time (default 75 s). */
  keepAliveTimeout?: number;
  /** Kong's nginx_http_keepalive_requests: requests per client connection (default 10000; 0: no limit). */
  maxRequestsPerSocket?: number;
  /** Largest request head accepted (bytes); larger gets nginx's 414 or Kong's 494 (client-errors.ts). */
  maxHeaderSize?: number;
  /** Certificates for listeners opened with `ssl` (tls-certs.ts loads them). */
  tls?: TlsMaterial;
  /** false in proxy workers: the primary probes once for the node and sends verdicts. */
  activeHealthChecks?: boolean;
  /** nginx_http_client_max_body_size in bytes (default 0: no limit). */
  maxBodySize?: number;
  /** nginx_http_client_body_buffer_size in bytes (default 8k, Kong's). */
  bodyBufferSize?: number;
  /** trusted_ips, real_ip_header, real_ip_recursive and port_maps (default: no peer trusted). */
  realIp?: RealIpOptions;
  /** allow_debug_header: Kong-Debug requests get the matched route's and service's ids and names. */
  allowDebugHeader?: boolean;
}

/**
 * nginx_http_client_body_buffer_size's default (Kong's 8k), for servers started without a Config.
 * A number here, not read from src/config/keys/: a proxy worker must not load the configuration
 * schema to boot (a data plane's restart-from-cache budget). test/config/config.unit.test.ts holds
 * it equal to the key's declared default.
 */
export const DEFAULT_BODY_BUFFER_SIZE = 8 * 1024;

/** One address the proxy accepts clients on (a proxy_listen entry). */
export interface ListenAddress {
  host: string;
  port: number;
  ssl: boolean;
  /** The `proxy_protocol` flag: each connection starts with a PROXY protocol header. */
  proxyProtocol?: boolean;
  /** Kong's `http2` flag: h2 by ALPN on an ssl listener, h2c with prior knowledge on a plain one. */
  http2?: boolean;
}

/** The proxy_listen flags a listener takes beside `ssl`. */
export interface ListenFlags {
  http2?: boolean;
  proxyProtocol?: boolean;
}

export interface ProxyServer {
  /** The first plain-HTTP listener's server (every listener: `servers`). */
  readonly server: http.Server;
  readonly servers: readonly http.Server[];
  /** Requests received by this process (the benchmark checks every worker served). */
  readonly stats: { requests: number };
  readonly runtime: ProxyRuntime;
  /**
   * Opens one more listener; `ssl` needs the `tls` option. Flags: `http2` adds HTTP/2 beside
   * HTTP/1.1, `proxyProtocol` reads a PROXY protocol header first on each connection.
   */
  listen(port: number, host?: string, ssl?: boolean, flags?: ListenFlags): Promise<{ host: string; port: number }>;
  loadSnapshot(snapshot: ConfigSnapshot): void;
  applyChanges(events: ChangeEvent[]): void;
  /** Resolves once changes applied so far are live. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

function serverOptionsOf(opts: ProxyServerOptions): http.ServerOptions {
  return {
    headersTimeout: opts.headersTimeout ?? 60_000,
    // nginx bounds a slow client by its pauses (client_body_timeout, send_timeout), not by a
    // total: a large upload at a steady pace is not cut off.
    requestTimeout: opts.requestTimeout ?? 0,
    keepAliveTimeout: opts.keepAliveTimeout ?? 75_000,
    maxHeaderSize: opts.maxHeaderSize ?? 32 * 1024,
    connectionsCheckingInterval: 1000,
    // The pipeline answers an HTTP/1.1 request without Host with Kong's 400 body (node's own
    // 400 has none); it reads the header anyway, so the check moves rather than adds.
    requireHostHeader: false,
  };
}

interface ListenerServer {
  server: http.Server;
  /** The listener as its requests see it (HTTP/1.1, and HTTP/2 with h2 set); ports filled in on listen. */
  ls: Listener[];
}

/** A server for one listener; its port is filled in once it listens. */
function makeServer(ssl: boolean, h2: boolean, serverOptions: http.ServerOptions, tls: TlsMaterial | undefined, sni: SniCertificates, pipeline: RequestPipeline, upgrades: UpgradeHandler): ListenerServer {
  const l: Listener = { port: 0, tls: ssl };
  const handler = oneAtATime((req: IncomingMessage, res: ServerResponse): void => pipeline.onRequest(req, res, l));
  const server = http.createServer(serverOptions, handler);
  const ls = [l];
  let h2server: H2Server | undefined;
  if (h2) {
    const l2: Listener = { port: 0, tls: ssl, h2: true };
    ls.push(l2);
    h2server = createH2Server((req, res) => pipeline.onRequest(req as unknown as IncomingMessage, res as unknown as ServerResponse, l2), serverOptions.maxHeaderSize ?? 32 * 1024, serverOptions.keepAliveTimeout ?? 75_000);
    if (!ssl) sniffH2c(server, h2server, serverOptions.headersTimeout ?? 60_000);
  }
  if (ssl) {
    if (!tls) throw new Error("proxy_listen: an 'ssl' listener needs certificates (ssl_cert / ssl_cert_key, or the default under the prefix)");
    // The configured pairs are the default; a certificates entity is chosen by server name.
    const fallback = createSecureContext({ cert: tls.cert, key: tls.key, ...secureContextOptions(tls.settings) });
    terminateTls(server, {
      contextFor: (name) => sni.contextOr(name, fallback),
      alpn: alpnWire(h2server ? ['h2', 'http/1.1'] : ['http/1.1']),
      helloTimeout: serverOptions.headersTimeout ?? 60_000,
      onH2: h2server?.take,
    });
    if (h2server) {
      const closeAll = server.closeAllConnections.bind(server);
      server.closeAllConnections = () => {
        h2server.closeAll();
        closeAll();
      };
    }
  }
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => upgrades.onUpgrade(req, socket, head, l));
  // Requests the parser refuses and CONNECT: Kong's status and body, then close (client-errors.ts).
  server.on('clientError', onClientError);
  server.on('connect', onConnect);
  // An Expect other than 100-continue: nginx ignores it and proxies the request (node would
  // answer 417 itself). The forwarder drops Expect, as nginx's proxy module does.
  server.on('checkExpectation', handler);
  return { server, ls };
}

function listenOn({ server, ls }: ListenerServer, port: number, host: string): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address() as AddressInfo;
      for (const l of ls) l.port = a.port;
      resolve({ host: a.address, port: a.port });
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise<void>((r) => {
    if (!server.listening) return r();
    server.close(() => r());
    server.closeAllConnections();
  });
}

export async function createProxyServer(opts: ProxyServerOptions = {}): Promise<ProxyServer> {
  await loadPluginHandlers();
  const logger = opts.logger ?? createLogger('proxy', 'warn');
  const ownCounters = opts.counters ? null : new LocalCounters();
  const runtime = new ProxyRuntime({ logger, counters: opts.counters ?? ownCounters!, debounceMs: opts.debounceMs, tellSiblings: opts.tellSiblings });
  if (opts.activeHealthChecks === false) runtime.balancers.runActiveChecks(false);
  if (opts.snapshot) runtime.loadSnapshot(opts.snapshot);

  const onDone = logPhaseRunner(logger);
  const maxBodySize = opts.maxBodySize ?? 0;
  const bodyBufferSize = opts.bodyBufferSize ?? DEFAULT_BODY_BUFFER_SIZE;
  const forwarder = new Forwarder(runtime.balancers, { onDone, maxBodySize, bodyBufferSize, sendTimeout: opts.sendTimeout, store: runtime.store });
  const realIp = opts.realIp ? new RealIp(opts.realIp) : RealIp.none;
  const pipeline = new RequestPipeline(runtime, forwarder, onDone, logger, maxBodySize, bodyBufferSize, opts.clientBodyTimeout, opts.maxRequestsPerSocket, realIp, opts.allowDebugHeader ?? false);
  const upgrades = new UpgradeHandler(pipeline, runtime, forwarder);

  const serverOptions = serverOptionsOf(opts);
  const sni = new SniCertificates(runtime.store, logger, opts.tls ? secureContextOptions(opts.tls.settings) : {});
  const newServer = (ssl: boolean, h2 = false) => makeServer(ssl, h2, serverOptions, opts.tls, sni, pipeline, upgrades);
  const first = newServer(false);
  const servers: ListenerServer[] = [];

  const api: ProxyServer = {
    server: first.server,
    get servers() {
      return servers.map((e) => e.server);
    },
    stats: pipeline.stats,
    runtime,
    listen(port, host = '0.0.0.0', ssl = false, { http2 = false, proxyProtocol = false } = {}) {
      const e = !ssl && !http2 && !proxyProtocol && !servers.includes(first) ? first : newServer(ssl, http2);
      if (proxyProtocol) acceptProxyProtocol(e.server, serverOptions.headersTimeout ?? 60_000);
      servers.push(e);
      return listenOn(e, port, host);
    },
    loadSnapshot: (s) => runtime.loadSnapshot(s),
    applyChanges: (e) => runtime.applyChanges(e),
    settled: () => runtime.settled(),
    async close() {
      await Promise.all((servers.length ? servers : [first]).map(({ server }) => closeServer(server)));
      upgrades.close();
      runtime.close();
      ownCounters?.close();
      await forwarder.close();
    },
  };
  return api;
}
