import { choice, count, duration, hostPort, key, list, listen, millis, num, onOff, peerList, size, str } from '../key.ts';
import { z } from 'zod';

// Kong's names and meanings (kong.conf.default); where a default differs, the key's reason says why.
export const coreKeys = {
  prefix: key(str(), '/usr/local/gossamer', 'a directory path', 'Working directory of the node: pid file, libp2p identity, node id, the data-plane config cache. Use one prefix per node on a machine.'),
  log_level: choice(['debug', 'info', 'notice', 'warn', 'error', 'crit', 'alert', 'emerg'], 'info', 'Log level (Kong\'s nginx levels; notice maps to info, crit/alert/emerg to fatal).'),
  node_name: key(str(), '', 'any text; empty derives <hostname>-<cluster port>', 'Name shown in /cluster/members and on every log line. Must be unique in the cluster.'),
  proxy_listen: key(listen(), '0.0.0.0:8000', 'host:port [flags], comma-separated, or off', 'Where the proxy accepts client traffic. Flags: `ssl` (TLS, certificates chosen by SNI), `http2` (HTTP/2 beside HTTP/1.1: chosen by ALPN with `ssl`, h2c with prior knowledge without; needed for gRPC), `reuseport` and `backlog=N` (accepted, no effect).'),
  ssl_cert: key(list(), '', 'comma-separated PEM file paths (or PEM text), or empty', "Certificates for proxy_listen entries with the ssl flag, one per ssl_cert_key entry (an RSA and an ECDSA pair may be given together). Empty: a self-signed certificate is generated once under <prefix>/ssl/."),
  ssl_cert_key: key(list(), '', 'comma-separated PEM file paths (or PEM text), or empty', 'Private keys of ssl_cert, in the same order.', true),
  admin_listen: key(listen(), '127.0.0.1:8001', 'host:port [flags], comma-separated, or off', 'Where the Admin API listens. Keep it on loopback or a private network.'),
  worker_processes: key(z.string().trim().transform((v, ctx) => {
    if (v === 'auto') return 'auto' as const;
    if (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 256) return Number(v);
    ctx.addIssue({ code: 'custom', message: 'expected auto or a number of workers' });
    return z.NEVER;
  }), 'auto', 'auto (one per CPU core) or 1-256', 'Proxy worker processes (Kong\'s nginx_worker_processes).'),
  nginx_http_client_max_body_size: key(size(), '0', 'a size: bytes, or with k, m or g (8k, 10m); 0 for no limit', 'Largest request body the proxy accepts, as Kong\'s: a Content-Length above it is answered 413 "Payload too large" before routing, and a chunked body that crosses it is cut off with 413. 0: no limit.'),
  nginx_http_client_body_buffer_size: key(size(1), '8k', 'a size: bytes, or with k, m or g (8k, 1m); at least 1', 'Largest request body held in memory for the plugins that read it (an API key read from the body, request body rewrites). A larger body streams to the upstream unchanged and those plugins do not see it, as Kong\'s plugins may not see a body nginx buffered to disk; raise it (up to nginx_http_client_max_body_size) when they must see every body. Bounds the memory one request can take.'),
  nginx_http_client_header_timeout: key(duration(1), '60s', 'a time: 60s, 1m, 500ms (seconds without a unit)', "nginx's client_header_timeout: a client must send its whole request head within this, or the connection is closed without an answer (slowloris)."),
  nginx_http_client_body_timeout: key(duration(1), '60s', 'a time: 60s, 1m, 500ms (seconds without a unit)', "nginx's client_body_timeout: the longest pause between two reads of a request body; past it the connection is closed (a body trickled to hold a connection)."),
  nginx_http_send_timeout: key(duration(1), '60s', 'a time: 60s, 1m, 500ms (seconds without a unit)', "nginx's send_timeout: the longest a client may leave the answer unread (between two writes that could not go through); past it the connection is closed."),
  nginx_http_keepalive_timeout: key(duration(0), '75s', 'a time: 60s, 1m, 500ms (seconds without a unit); 0 disables keep-alive', "nginx's keepalive_timeout: how long an idle client connection is kept open for its next request."),
  nginx_http_keepalive_requests: count(10000, 0, 100000000, "Kong's nginx_http_keepalive_requests: requests served on one client connection before it is closed (0: no limit)."),
  database: choice(['postgres', 'off'], 'postgres', 'postgres for traditional nodes and control planes; off for data planes, and for DB-less nodes (cluster_role = traditional: the configuration comes from declarative_config or POST /config).'),
  declarative_config: key(str(), '', 'a file path, or empty', 'DB-less mode (database = off, cluster_role = traditional): the declarative configuration (Kong\'s kong.yml, YAML or JSON) loaded at start. A file with any problem stops the start with every problem listed. Empty: the node starts with what it last applied (POST /config), or empty. Ignored in other modes, as Kong ignores it (use gossamer config db_import to load a file into a database).'),
  declarative_config_string: key(z.string(), '', 'declarative configuration text (YAML or JSON), or empty', 'DB-less mode: the declarative configuration itself instead of a file (Kong\'s KONG_DECLARATIVE_CONFIG_STRING); declarative_config wins when both are set.'),
  pg_host: key(str().pipe(z.string().min(1)), '127.0.0.1', 'a host name or address', 'Postgres host.'),
  pg_port: count(5432, 1, 65535, 'Postgres port.'),
  pg_user: key(str(), 'gossamer', 'a Postgres role', 'Postgres user.'),
  pg_password: key(z.string(), '', 'any text', 'Postgres password.', true),
  pg_database: key(str(), 'gossamer', 'a database name', 'Postgres database.'),
  pg_ssl: onOff('off', 'Connect to Postgres over TLS.'),
  pg_timeout: millis(5000, 1, 600000, 'Postgres connect and query timeout.'),
  pg_pool_size: count(2, 1, 1000, 'Most Postgres connections one node holds (Kong\'s name; Kong pools per nginx worker, a Gossamer node pools in its primary only). An idle node holds one (connections idle for 10 s are closed); the second lets an Admin API write proceed beside a poll or a repair read, and further queries queue. Two per node keep 50 nodes within Postgres\' default max_connections = 100 at the worst moment and at 50 connections at rest, leaving room for migrations and psql.'),
  cluster_listen: key(listen(), '0.0.0.0:8005', 'host:port [flags], comma-separated, or off', 'Where the node accepts cluster (libp2p) connections from its peers.'),
  cluster_advertise: key(z.union([z.literal(''), hostPort()]), '', 'host:port, or empty to derive it', 'Address other nodes dial to reach this one. Empty: the first non-loopback address of this machine with the cluster_listen port.'),
  cluster_peers: key(peerList(), '', 'comma-separated host:port or multiaddr list', 'Seed peers to dial besides those found in the database.'),
  cluster_role: choice(['traditional', 'control_plane', 'data_plane'], 'traditional', 'traditional: database + proxy + Admin API; control_plane: database + Admin API, no proxy traffic; data_plane: proxy only, config from a control plane.'),
  cluster_control_plane: key(peerList(), '127.0.0.1:8005', 'comma-separated host:port list', 'Control plane(s) a data plane dials.'),
  cluster_cert: key(str(), '', 'a file path', 'Shared cluster certificate (gossamer cluster gen-cert).'),
  cluster_cert_key: key(str(), '', 'a file path', 'Key of the shared cluster certificate; data planes derive the cluster key from it.', true),
  db_update_frequency: key(num(0.001, 86400), '5', 'seconds, > 0', 'Safety-net poll of cluster_events, in seconds. Gossip makes changes arrive in milliseconds; the poll only repairs what gossip missed.'),
  db_update_propagation: key(num(0, 86400), '0', 'seconds, >= 0', 'As in Kong, cluster_events rows are kept for max(10 × this, 1 hour). Gossamer reads events in commit order and needs no propagation delay otherwise.'),
  db_cache_ttl: key(num(0, 31536000), '0', 'seconds, >= 0 (0 = never expire)', 'Time an entity stays in the node cache (0: until invalidated).'),
  plugins: key(list(), 'bundled', 'comma-separated plugin names, bundled, or off', 'Plugins this node may run.'),
  proxy_access_log: key(str(), 'logs/access.log', 'a path, /dev/stdout or off', 'Accepted for Kong compatibility (seed compose files set it).'),
  proxy_error_log: key(str(), 'logs/error.log', 'a path, /dev/stderr or off', 'Accepted for Kong compatibility.'),
  admin_access_log: key(str(), 'logs/admin_access.log', 'a path, /dev/stdout or off', 'Accepted for Kong compatibility.'),
  admin_error_log: key(str(), 'logs/error.log', 'a path, /dev/stderr or off', 'Accepted for Kong compatibility.'),
  anonymous_reports: onOff('off', 'Accepted for Kong compatibility; Gossamer never phones home.'),
};

/** Kong names that mean the same as one of ours. */
export const aliases: Record<string, string> = {
  nginx_worker_processes: 'worker_processes',
  // Kong 2.x/3.x call it `role` (KONG_ROLE in their hybrid-mode docs).
  role: 'cluster_role',
};
