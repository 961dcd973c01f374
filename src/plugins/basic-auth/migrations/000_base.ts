// The credentials of the basic-auth plugin and the groups of the acl plugin (Kong keeps both
// in plugin migrations; here they are core tables like keyauth_credentials). Deleting a
// consumer cascades to them in the write path, which emits an event per row; the RESTRICT
// foreign keys catch a child inserted concurrently with that delete.
import type { Migration } from '../../../db/migration.ts';

export const migration: Migration = {
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
};
