// Kong's TLS entities: certificates, the SNIs naming them, CA certificates. As for core's
// other tables, the foreign key is RESTRICT and the DAO cascades (each deleted SNI writes
// its cluster_events row).
import type { Migration } from '../migration.ts';

export const migration: Migration = {
  name: '005_tls_entities',
  up: `
CREATE TABLE IF NOT EXISTS certificates (
  id uuid PRIMARY KEY,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  cert text NOT NULL,
  key text NOT NULL,
  cert_alt text,
  key_alt text,
  tags text[]
);

CREATE TABLE IF NOT EXISTS snis (
  id uuid PRIMARY KEY,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  name text NOT NULL CONSTRAINT snis_name_unique UNIQUE,
  certificate_id uuid NOT NULL CONSTRAINT snis_certificate_fk REFERENCES certificates(id) ON DELETE RESTRICT,
  tags text[]
);
CREATE INDEX IF NOT EXISTS snis_certificate_id_idx ON snis(certificate_id);

CREATE TABLE IF NOT EXISTS ca_certificates (
  id uuid PRIMARY KEY,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  cert text NOT NULL,
  cert_digest text NOT NULL CONSTRAINT ca_certificates_cert_digest_unique UNIQUE,
  tags text[]
);
`,
};
