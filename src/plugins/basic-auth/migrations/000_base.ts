// basic-auth's table. Until it moved here, core migration 004 created it: on a database
// bootstrapped then, this runs as a no-op (IF NOT EXISTS) and only joins the ledger. Deleting
// a consumer cascades to its credentials in the write path, which emits an event per row; the
// RESTRICT foreign key catches a credential inserted concurrently with that delete.
import type { Migration } from '../../../db/migration.ts';

export const migration: Migration = {
  name: '000_base',
  up: `
CREATE TABLE IF NOT EXISTS basicauth_credentials (
  id uuid PRIMARY KEY,
  created_at timestamptz NOT NULL,
  consumer_id uuid NOT NULL CONSTRAINT basicauth_credentials_consumer_fk REFERENCES consumers(id) ON DELETE RESTRICT,
  username text NOT NULL CONSTRAINT basicauth_credentials_username_unique UNIQUE,
  password text NOT NULL,
  tags text[]
);
CREATE INDEX IF NOT EXISTS basicauth_credentials_consumer_id_idx ON basicauth_credentials(consumer_id);
`,
};
