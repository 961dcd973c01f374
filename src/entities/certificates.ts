// Kong 3 certificates (kong/db/schema/entities/certificates.lua): a key pair and an optional
// second pair of the other key type (RSA and ECDSA), and `snis`, a transient shorthand for
// the SNI entities that name it (src/admin/certificates.ts keeps them in step).
import { z } from 'zod';
import type { EntityDef } from './definition.ts';
import { arr, nullable, str, tags, timestamp, uuid } from './fields.ts';
import { certKeyType, certMatchesKey, parseCert, parseKey } from './pem.ts';
import { wildcardHost } from './wildcard-host.ts';

const check = (parse: (pem: string) => unknown) =>
  str().superRefine((pem, ctx) => {
    const parsed = parse(pem);
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
  });
export const certificatePem = () => check(parseCert);
export const keyPem = () => check(parseKey);

export const certificateSchema = z.strictObject({
  id: uuid().optional(),
  created_at: timestamp().optional(),
  updated_at: timestamp().optional(),
  cert: certificatePem(),
  key: keyPem(),
  cert_alt: nullable(certificatePem()),
  key_alt: nullable(keyPem()),
  tags: tags(),
  snis: nullable(arr(wildcardHost())),
});

const SAME_TYPE =
  'certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), the provided certificates were both of the same type';

/** Kong's entity_checks, in its order; every failing one is reported. */
export function checkCertificate(e: Record<string, unknown>): Record<string, unknown> | null {
  const errs: string[] = [];
  const hasCertAlt = typeof e.cert_alt === 'string';
  const hasKeyAlt = typeof e.key_alt === 'string';
  if (hasCertAlt !== hasKeyAlt) errs.push("all or none of these fields must be set: 'cert_alt', 'key_alt'");
  if (!certMatchesKey(String(e.cert), String(e.key))) errs.push('certificate does not match key');
  if (hasCertAlt && hasKeyAlt && !certMatchesKey(String(e.cert_alt), String(e.key_alt))) errs.push('alternative certificate does not match key');
  if (hasCertAlt && certKeyType(String(e.cert)) === certKeyType(String(e.cert_alt))) errs.push(SAME_TYPE);
  return errs.length ? { '@entity': errs } : null;
}

export const certificates: EntityDef = {
  name: 'certificates',
  schema: certificateSchema as unknown as EntityDef['schema'],
  check: checkCertificate,
  // `snis` is not a column: it is answered from the SNI entities.
  columns: { id: 'uuid', created_at: 'ts', updated_at: 'ts', cert: 'text', key: 'text', cert_alt: 'text', key_alt: 'text', tags: 'text[]' },
  foreign: {},
  uniques: {},
  cascade: [{ entity: 'snis', field: 'certificate' }],
  // A certificate a service or upstream presents to its upstream (client_certificate) stays.
  restrict: [
    { entity: 'services', field: 'client_certificate' },
    { entity: 'upstreams', field: 'client_certificate' },
  ],
};
