// key-auth's table. Until it moved here, core migration 001_core_entities created it: on a
// database bootstrapped then, this runs as a no-op (IF NOT EXISTS) and only joins the ledger.
import type { Migration } from '../../../db/migration.ts';

export const migration: Migration = {
  name: '000_base',
  up: `
CREATE TABLE IF NOT EXISTS keyauth_credentials (
  id uuid PRIMARY KEY,
  created_at timestamptz NOT NULL,
  consumer_id uuid NOT NULL CONSTRAINT keyauth_credentials_consumer_fk REFERENCES consumers(id) ON DELETE RESTRICT,
  key text CONSTRAINT keyauth_credentials_key_unique UNIQUE,
  ttl integer,
  tags text[]
);
CREATE INDEX IF NOT EXISTS keyauth_credentials_consumer_id_idx ON keyauth_credentials(consumer_id);
`,
};
