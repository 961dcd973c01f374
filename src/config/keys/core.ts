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
  admin_listen: key(listen(), '127.0.0.1:8001', 'host:port [flags], comma-separated, or off', 'Where the Admin API listens (an entry with the ssl flag serves HTTPS). Keep it on loopback or a private network.'),
  admin_ssl_cert: key(list(), '', 'comma-separated PEM file paths (or PEM text), or empty', 'Certificates for admin_listen entries with the ssl flag, one per admin_ssl_cert_key entry. Empty: a self-signed certificate is generated once under <prefix>/ssl/ (admin-gossamer-default.crt).'),
  admin_ssl_cert_key: key(list(), '', 'comma-separated PEM file paths (or PEM text), or empty', 'Private keys of admin_ssl_cert, in the same order.', true),
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
  pg_pool_size: count(2, 1, 1000, 'Most Postgres connections one node holds (Kong\'s name; Kong pools per nginx worker, a Gossamer node pools in its primary only). One is the node\'s own (the safety-net poll, repairs, its cluster_nodes row: one query at a time), the others serve the Admin API and are closed after 10 s idle; 1 makes both share one. An idle node holds one, so 50 nodes hold 50 connections plus one per node answering an Admin API write, within Postgres\' default max_connections = 100 with room for migrations and psql.'),
  cluster_listen: key(listen(), '0.0.0.0:8005', 'host:port [flags], comma-separated, or off', 'Where the node accepts cluster (libp2p) connections from its peers.'),
  cluster_advertise: key(z.union([z.literal(''), hostPort()]), '', 'host:port, or empty to derive it', 'Address other nodes dial to reach this one. Empty: the first non-loopback address of this machine with the cluster_listen port.'),
  cluster_peers: key(peerList(), '', 'comma-separated host:port or multiaddr list', 'Seed peers to dial besides those found in the database.'),
  cluster_role: choice(['traditional', 'control_plane', 'data_plane'], 'traditional', 'traditional: database + proxy + Admin API; control_plane: database + Admin API, no proxy traffic; data_plane: proxy only, config from a control plane.'),
  cluster_control_plane: key(peerList(), '127.0.0.1:8005', 'comma-separated host:port list', 'Control plane(s) a data plane dials.'),
  cluster_cert: key(str(), '', 'a file path', 'Cluster certificate: with cluster_mtls = shared the one pair every control plane and data plane holds (gossamer cluster gen-cert); with pki this node\'s own certificate, signed by cluster_ca_cert.'),
  cluster_cert_key: key(str(), '', 'a file path', 'Key of cluster_cert. With shared, the private-network key of the cluster is derived from it; a data plane also derives the key that encrypts its on-disk configuration cache from it.', true),
  cluster_mtls: choice(['shared', 'pki'], 'shared', "How hybrid-mode nodes authenticate each other (Kong's key). shared: every node holds the same cluster_cert pair, and only holders of its key can open a cluster connection. pki: every node has its own certificate signed by cluster_ca_cert; each cluster connection is mutual TLS, both sides verifying the other's chain up to that CA."),
  cluster_ca_cert: key(str(), '', 'a file path or PEM text, or empty', 'With cluster_mtls = pki (required then): the CA that signs every control plane\'s and data plane\'s cluster_cert.'),
  cluster_server_name: key(str(), '', 'a host name, or empty', "With cluster_mtls = pki: the name a data plane sends (SNI) and expects in the control plane's certificate when it connects to a cluster_control_plane address. Empty: the host part of that cluster_control_plane entry, as in Kong."),
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
