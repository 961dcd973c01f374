// acl's table. Until it moved here, core migration 004 created it: on a database bootstrapped
// then, this runs as a no-op (IF NOT EXISTS) and only joins the ledger.
import type { Migration } from '../../../db/migration.ts';

export const migration: Migration = {
  name: '000_base',
  up: `
CREATE TABLE IF NOT EXISTS acls (
  id uuid PRIMARY KEY,
  created_at timestamptz NOT NULL,
  consumer_id uuid NOT NULL CONSTRAINT acls_consumer_fk REFERENCES consumers(id) ON DELETE RESTRICT,
  "group" text NOT NULL,
  tags text[],
  CONSTRAINT acls_consumer_group_unique UNIQUE (consumer_id, "group")
);
CREATE INDEX IF NOT EXISTS acls_group_idx ON acls("group");
`,
};
