// Kong's core entities. Foreign keys are ON DELETE RESTRICT on purpose: Kong cascades in
// the database, but every deleted row must also write a cluster_events row, so cascades are
// done by the DAO (src/db/write.ts) and the database only guarantees none is missed.
import type { Migration } from '../migration.ts';

export const migration: Migration = {
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
`,
};
