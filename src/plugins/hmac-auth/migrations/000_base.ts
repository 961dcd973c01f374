// hmac-auth's table (Kong's 000_base_hmac_auth, with tags). Deleting a consumer cascades to its
// credentials in the write path, one event per row; the RESTRICT foreign key catches a
// concurrent insert.
import type { Migration } from '../../../db/migration.ts';

export const migration: Migration = {
  name: '000_base',
  up: `
CREATE TABLE IF NOT EXISTS hmacauth_credentials (
  id uuid PRIMARY KEY,
  created_at timestamptz NOT NULL,
  consumer_id uuid NOT NULL CONSTRAINT hmacauth_credentials_consumer_fk REFERENCES consumers(id) ON DELETE RESTRICT,
  username text NOT NULL CONSTRAINT hmacauth_credentials_username_unique UNIQUE,
  secret text,
  tags text[]
);
CREATE INDEX IF NOT EXISTS hmacauth_credentials_consumer_id_idx ON hmacauth_credentials(consumer_id);
`,
};
