// Cluster state: the change log every node replays (cluster_events), the member registry
// (cluster_nodes) and cluster-wide settings such as the libp2p private-network key.
import type { Migration } from '../migration.ts';

export const migration: Migration = {
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
};
