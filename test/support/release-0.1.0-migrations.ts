// The schema migrations of gossamer 0.1.0 (commit 9d8b770, src/db/migrations/001-004), SQL
// copied verbatim: a database "bootstrapped by the current release" for the plugin-migrations
// upgrade test. Back then key-auth's table was in 001 and basic-auth's and acl's in 004, all
// core migrations; never edit these, they are what existing databases ran.

export const RELEASE_0_1_0_MIGRATIONS: { name: string; up: string }[] = [
  {
    name: '001_core_entities',
    up: `
CREATE TABLE services (
  id uuid PRIMARY KEY,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  name text CONSTRAINT services_name_unique UNIQUE,
  retries integer,
  protocol text,
  host text,
  port integer,
  path text,
  connect_timeout integer,
  write_timeout integer,
  read_timeout integer,
  tags text[],
  client_certificate_id uuid,
  tls_verify boolean,
  tls_verify_depth smallint,
  ca_certificates uuid[],
  enabled boolean NOT NULL DEFAULT true
);

CREATE TABLE routes (
  id uuid PRIMARY KEY,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  name text CONSTRAINT routes_name_unique UNIQUE,
  service_id uuid CONSTRAINT routes_service_fk REFERENCES services(id) ON DELETE RESTRICT,
  protocols text[],
  methods text[],
  hosts text[],
  paths text[],
  snis text[],
  sources jsonb,
  destinations jsonb,
  headers jsonb,
  regex_priority integer,
  strip_path boolean,
  path_handling text,
  preserve_host boolean,
  request_buffering boolean,
  response_buffering boolean,
  https_redirect_status_code integer,
  tags text[]
);
CREATE INDEX routes_service_id_idx ON routes(service_id);

CREATE TABLE consumers (
  id uuid PRIMARY KEY,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  username text CONSTRAINT consumers_username_unique UNIQUE,
  custom_id text CONSTRAINT consumers_custom_id_unique UNIQUE,
  tags text[]
);

CREATE TABLE upstreams (
  id uuid PRIMARY KEY,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  name text CONSTRAINT upstreams_name_unique UNIQUE,
  algorithm text,
  hash_on text,
  hash_fallback text,
  hash_on_header text,
  hash_fallback_header text,
  hash_on_cookie text,
  hash_on_cookie_path text,
  hash_on_query_arg text,
  hash_fallback_query_arg text,
  hash_on_uri_capture text,
  hash_fallback_uri_capture text,
  slots integer,
  healthchecks jsonb,
  tags text[],
  host_header text,
  client_certificate_id uuid,
  use_srv_name boolean
);

CREATE TABLE targets (
  id uuid PRIMARY KEY,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  upstream_id uuid NOT NULL CONSTRAINT targets_upstream_fk REFERENCES upstreams(id) ON DELETE RESTRICT,
  target text NOT NULL,
  weight integer NOT NULL,
  tags text[],
  CONSTRAINT targets_upstream_target_unique UNIQUE (upstream_id, target)
);

CREATE TABLE plugins (
  id uuid PRIMARY KEY,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  name text NOT NULL,
  instance_name text CONSTRAINT plugins_instance_name_unique UNIQUE,
  service_id uuid CONSTRAINT plugins_service_fk REFERENCES services(id) ON DELETE RESTRICT,
  route_id uuid CONSTRAINT plugins_route_fk REFERENCES routes(id) ON DELETE RESTRICT,
  consumer_id uuid CONSTRAINT plugins_consumer_fk REFERENCES consumers(id) ON DELETE RESTRICT,
  config jsonb NOT NULL,
  enabled boolean NOT NULL,
  protocols text[],
  tags text[],
  cache_key text CONSTRAINT plugins_cache_key_unique UNIQUE
);
CREATE INDEX plugins_service_id_idx ON plugins(service_id);
CREATE INDEX plugins_route_id_idx ON plugins(route_id);
CREATE INDEX plugins_consumer_id_idx ON plugins(consumer_id);

CREATE TABLE keyauth_credentials (
  id uuid PRIMARY KEY,
  created_at timestamptz NOT NULL,
  consumer_id uuid NOT NULL CONSTRAINT keyauth_credentials_consumer_fk REFERENCES consumers(id) ON DELETE RESTRICT,
  key text CONSTRAINT keyauth_credentials_key_unique UNIQUE,
  ttl integer,
  tags text[]
);
CREATE INDEX keyauth_credentials_consumer_id_idx ON keyauth_credentials(consumer_id);
`,
  },
  {
    name: '002_cluster',
    up: `
CREATE SEQUENCE config_version_seq;

CREATE TABLE cluster_events (
  id uuid PRIMARY KEY,
  config_version bigint NOT NULL CONSTRAINT cluster_events_config_version_unique UNIQUE,
  channel text,
  entity text,
  op text,
  entity_id uuid,
  cache_keys text[],
  data jsonb,
  node_id uuid,
  created_at timestamptz DEFAULT now(),
  expire_at timestamptz
);
CREATE INDEX cluster_events_expire_at_idx ON cluster_events(expire_at);

CREATE TABLE cluster_nodes (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  peer_id text NOT NULL,
  addresses text[] NOT NULL,
  role text NOT NULL,
  version text NOT NULL,
  config_version bigint NOT NULL DEFAULT 0,
  config_hash text,
  started_at timestamptz,
  last_seen timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cluster_settings (
  key text PRIMARY KEY,
  value text NOT NULL
);
`,
  },
  {
    name: '003_cluster_events_txid',
    up: `
ALTER TABLE cluster_events ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX cluster_events_txid_idx ON cluster_events(txid);
`,
  },
  {
    name: '004_basicauth_acls',
    up: `
CREATE TABLE basicauth_credentials (
  id uuid PRIMARY KEY,
  created_at timestamptz NOT NULL,
  consumer_id uuid NOT NULL CONSTRAINT basicauth_credentials_consumer_fk REFERENCES consumers(id) ON DELETE RESTRICT,
  username text NOT NULL CONSTRAINT basicauth_credentials_username_unique UNIQUE,
  password text NOT NULL,
  tags text[]
);
CREATE INDEX basicauth_credentials_consumer_id_idx ON basicauth_credentials(consumer_id);

CREATE TABLE acls (
  id uuid PRIMARY KEY,
  created_at timestamptz NOT NULL,
  consumer_id uuid NOT NULL CONSTRAINT acls_consumer_fk REFERENCES consumers(id) ON DELETE RESTRICT,
  "group" text NOT NULL,
  tags text[],
  CONSTRAINT acls_consumer_group_unique UNIQUE (consumer_id, "group")
);
CREATE INDEX acls_group_idx ON acls("group");
`,
  },
];
