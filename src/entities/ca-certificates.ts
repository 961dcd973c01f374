// Kong 3 CA certificates (kong/db/schema/entities/ca_certificates.lua): one CA certificate,
// not expired, with the CA basic constraint; cert_digest (SHA-256 of the DER) is computed on
// write and unique.
import { z } from 'zod';
import type { EntityDef } from './definition.ts';
import { nullable, str, tags, timestamp, uuid } from './fields.ts';
import { certificatePem } from './certificates.ts';
import { certDigest, parseCert } from './pem.ts';

const CERT_TAG = '-----BEGIN CERTIFICATE-----';

export const caCertificateSchema = z.strictObject({
  id: uuid().optional(),
  created_at: timestamp().optional(),
  updated_at: timestamp().optional(),
  cert: certificatePem(),
  cert_digest: nullable(str()),
  tags: tags(),
});

export function checkCaCertificate(e: Record<string, unknown>): Record<string, unknown> | null {
  const pem = String(e.cert);
  const first = pem.indexOf(CERT_TAG);
  if (first !== -1 && pem.indexOf(CERT_TAG, first + CERT_TAG.length + 1) !== -1) {
    return { '@entity': ['please submit only one certificate at a time'] };
  }
  const cert = parseCert(pem);
  if (typeof cert === 'string') return { cert };
  if (new Date(cert.validTo).getTime() < Date.now()) {
    return { '@entity': ['certificate expired, "Not After" time is in the past'] };
  }
  if (!cert.ca) {
    return { '@entity': ['certificate does not appear to be a CA because it is missing the "CA" basic constraint'] };
  }
  return null;
}

export const ca_certificates: EntityDef = {
  name: 'ca_certificates',
  schema: caCertificateSchema as unknown as EntityDef['schema'],
  check: checkCaCertificate,
  onWrite(e) {
    e.cert_digest = certDigest(String(e.cert));
  },
  columns: { id: 'uuid', created_at: 'ts', updated_at: 'ts', cert: 'text', cert_digest: 'text', tags: 'text[]' },
  foreign: {},
  uniques: { ca_certificates_cert_digest_unique: ['cert_digest'] },
  cascade: [],
  restrict: [],
  naturalKey: (e) => (typeof e.cert === 'string' ? certDigest(e.cert) : null),
};
