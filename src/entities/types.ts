// The shapes of Kong's core entities as the Admin API returns them and as every other part
// (cache, proxy, cluster sync) sees them. Field names and meanings are Kong 3.x's.
// Timestamps are integer seconds since the epoch, like Kong's.

export type Uuid = string;
export interface Ref {
  id: Uuid;
}

export interface Service {
  id: Uuid;
  name: string | null;
  protocol: 'http' | 'https' | 'grpc' | 'grpcs' | 'tcp' | 'tls' | 'udp' | 'ws' | 'wss';
  host: string;
  port: number;
  path: string | null;
  retries: number;
  connect_timeout: number;
  write_timeout: number;
  read_timeout: number;
  enabled: boolean;
  tags: string[] | null;
  created_at: number;
  updated_at: number;
  // Kong 3 TLS fields, returned by the Admin API (null unless set).
  client_certificate?: Ref | null;
  tls_verify?: boolean | null;
  tls_verify_depth?: number | null;
  ca_certificates?: Uuid[] | null;
}

export interface Route {
  id: Uuid;
  name: string | null;
  protocols: string[];
  methods: string[] | null;
  hosts: string[] | null;
  paths: string[] | null;
  headers: Record<string, string[]> | null;
  https_redirect_status_code: number;
  regex_priority: number;
  strip_path: boolean;
  path_handling: 'v0' | 'v1';
  preserve_host: boolean;
  request_buffering: boolean;
  response_buffering: boolean;
  snis: string[] | null;
  sources: unknown[] | null;
  destinations: unknown[] | null;
  service: Ref | null;
  tags: string[] | null;
  created_at: number;
  updated_at: number;
}

export interface Consumer {
  id: Uuid;
  username: string | null;
  custom_id: string | null;
  tags: string[] | null;
  created_at: number;
  updated_at: number;
}

export interface Plugin {
  id: Uuid;
  name: string;
  instance_name: string | null;
  config: Record<string, unknown>;
  enabled: boolean;
  protocols: string[];
  service: Ref | null;
  route: Ref | null;
  consumer: Ref | null;
  tags: string[] | null;
  created_at: number;
  updated_at: number;
}

export interface Upstream {
  id: Uuid;
  name: string;
  algorithm: 'round-robin' | 'consistent-hashing' | 'least-connections' | 'latency';
  hash_on: 'none' | 'consumer' | 'ip' | 'header' | 'cookie' | 'path' | 'query_arg' | 'uri_capture';
  hash_fallback: 'none' | 'consumer' | 'ip' | 'header' | 'cookie' | 'path' | 'query_arg' | 'uri_capture';
  hash_on_header: string | null;
  hash_fallback_header: string | null;
  hash_on_cookie: string | null;
  hash_on_cookie_path: string;
  slots: number;
  healthchecks: Record<string, unknown>;
  host_header: string | null;
  tags: string[] | null;
  created_at: number;
  updated_at: number;
  hash_on_query_arg?: string | null;
  hash_fallback_query_arg?: string | null;
  hash_on_uri_capture?: string | null;
  hash_fallback_uri_capture?: string | null;
  client_certificate?: Ref | null;
  use_srv_name?: boolean;
}

export interface Target {
  id: Uuid;
  target: string; // host:port
  weight: number;
  upstream: Ref;
  tags: string[] | null;
  created_at: number;
  updated_at: number;
}

/** Kong 3 certificates: a key pair, and optionally one of the other key type (`_alt`). */
export interface Certificate {
  id: Uuid;
  cert: string;
  key: string;
  cert_alt: string | null;
  key_alt: string | null;
  tags: string[] | null;
  created_at: number;
  updated_at: number;
}

/** Kong 3 SNIs: an exact or wildcard (`*.example.com`, `example.*`) server name → certificate. */
export interface Sni {
  id: Uuid;
  name: string;
  certificate: Ref;
  tags: string[] | null;
  created_at: number;
  updated_at: number;
}

/** Kong 3 CA certificates: trusted CAs a service may verify its upstream against. */
export interface CaCertificate {
  id: Uuid;
  cert: string;
  cert_digest: string;
  tags: string[] | null;
  created_at: number;
  updated_at: number;
}

/** Core's entity names; a plugin's own entities come on top (see EntityMap). */
export type CoreEntityName = 'services' | 'routes' | 'consumers' | 'plugins' | 'upstreams' | 'targets' | 'certificates' | 'snis' | 'ca_certificates';

/**
 * Entity shapes by name. Core lists its own; a plugin adds the entities it owns from its own
 * folder with `declare module '../../entities/types.ts' { interface EntityMap {...} }` (and
 * the matching ConfigSnapshot list), so core never names a plugin and a plugin's entity is
 * typed wherever entities are.
 */
export interface EntityMap {
  services: Service;
  routes: Route;
  consumers: Consumer;
  plugins: Plugin;
  upstreams: Upstream;
  targets: Target;
  certificates: Certificate;
  snis: Sni;
  ca_certificates: CaCertificate;
}

/** Entity names as used in URLs, cluster_events rows and cache keys. */
export type EntityName = keyof EntityMap;

/**
 * A node's whole configuration at one config_version: what the proxy is built from, what a
 * control plane ships to data planes, and what config_hash is computed over. Plugins add their
 * entities' lists by declaration merging, as for EntityMap (optional when snapshots written
 * before the entity existed lack it: every reader treats absent as empty).
 */
export interface ConfigSnapshot {
  config_version: number;
  services: Service[];
  routes: Route[];
  consumers: Consumer[];
  plugins: Plugin[];
  upstreams: Upstream[];
  targets: Target[];
  // Optional: snapshots written before TLS entities existed lack them (read as empty).
  certificates?: Certificate[];
  snis?: Sni[];
  ca_certificates?: CaCertificate[];
}

/**
 * One committed change, as stored in cluster_events and gossiped. `config_version` comes
 * from a Postgres sequence taken inside the writing transaction.
 */
export interface ChangeEvent {
  id: Uuid;
  config_version: number;
  channel: 'invalidations';
  entity: EntityName;
  op: 'create' | 'update' | 'delete';
  entity_id: Uuid;
  /** Cache keys to drop, Kong-style (`routes:<id>`, `consumers:username:<name>`...). */
  cache_keys: string[];
  /** The entity after the change (null for delete): lets receivers apply without a DB read. */
  data: unknown | null;
  node_id: Uuid | null;
  at: number; // ms since epoch, commit time as the writer saw it
}
