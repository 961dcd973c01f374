// The proxy part: proxy_listen served by worker_processes workers, built from the cache the
// configuration sync keeps; it never waits for Postgres or a control plane on the request path.
import { StartError } from '../../errors.ts';
import { startNodeProxy, type NodeProxy, type NodeProxyOptions } from '../../proxy/node-proxy.ts';
import type { NodeContext } from '../context.ts';
import { tlsContextSettings } from '../../proxy/tls-settings.ts';

export type ProxyPartOptions = Pick<NodeProxyOptions, 'snapshot' | 'workerSnapshot' | 'logLevel'>;

export function startProxyPart({ config, log, stops }: NodeContext, o: ProxyPartOptions): Promise<NodeProxy> {
  return startNodeProxy({
    workerProcesses: config.worker_processes,
    listen: config.proxy_listen,
    snapshot: o.snapshot,
    workerSnapshot: o.workerSnapshot,
    logger: log.child({ part: 'proxy' }),
    nodeName: config.node_name,
    logLevel: o.logLevel,
    // Made once here, in the primary: the ticket keys it holds are the same in every worker.
    ssl: { cert: config.ssl_cert, key: config.ssl_cert_key, prefix: config.prefix, settings: tlsContextSettings(config) },
    realIp: { trustedIps: config.trusted_ips, header: config.real_ip_header, recursive: config.real_ip_recursive, portMaps: config.port_maps },
    allowDebugHeader: config.allow_debug_header,
    bodies: { maxBodySize: config.nginx_http_client_max_body_size, bodyBufferSize: config.nginx_http_client_body_buffer_size },
    clients: {
      headersTimeout: config.nginx_http_client_header_timeout,
      clientBodyTimeout: config.nginx_http_client_body_timeout,
      sendTimeout: config.nginx_http_send_timeout,
      keepAliveTimeout: config.nginx_http_keepalive_timeout,
      maxRequestsPerSocket: config.nginx_http_keepalive_requests,
    },
  }).then(
    (p) => {
      stops.push(() => p.stop());
      return p;
    },
    (err: Error) => {
      throw new StartError(err.message);
    },
  );
}
