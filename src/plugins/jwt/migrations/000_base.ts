// jwt's table (Kong's 000_base_jwt, with tags). Deleting a consumer cascades to its secrets in
// the write path, one event per row; the RESTRICT foreign key catches a concurrent insert.
import type { Migration } from '../../../db/migration.ts';

export const migration: Migration = {
  name: '000_base',
  up: `
CREATE TABLE IF NOT EXISTS jwt_secrets (
  id uuid PRIMARY KEY,
  created_at timestamptz NOT NULL,
  consumer_id uuid NOT NULL CONSTRAINT jwt_secrets_consumer_fk REFERENCES consumers(id) ON DELETE RESTRICT,
  key text CONSTRAINT jwt_secrets_key_unique UNIQUE,
  secret text,
  algorithm text,
  rsa_public_key text,
  tags text[]
);
CREATE INDEX IF NOT EXISTS jwt_secrets_consumer_id_idx ON jwt_secrets(consumer_id);
`,
};
