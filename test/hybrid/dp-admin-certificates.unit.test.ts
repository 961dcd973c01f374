// A data plane's read-only Admin API answers certificate, SNI and CA certificate reads from its
// synced cache, as a traditional node's does: a certificate with its SNI names, by id or by one
// of its SNIs; its SNIs nested under it; writes refused.
import { expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import { Router, type AdminRequest } from '../../src/admin/router.ts';
import { EntityStore } from '../../src/cache/entity-store.ts';
import { registerDataPlaneAdmin } from '../../src/hybrid/dp-admin.ts';
import { snapshot } from '../support/proxy-fixtures.ts';

test('certificate, SNI and CA certificate reads on a data plane', async () => {
  const cert = { id: randomUUID(), cert: 'C', key: 'K', cert_alt: null, key_alt: null, tags: null, created_at: 1, updated_at: 1 };
  const sni = (name: string) => ({ id: randomUUID(), name, certificate: { id: cert.id }, tags: null, created_at: 1, updated_at: 1 });
  const ca = { id: randomUUID(), cert: 'CA', cert_digest: 'd', tags: null, created_at: 1, updated_at: 1 };
  const store = new EntityStore();
  store.load(snapshot({ certificates: [cert], snis: [sni('b.example.com'), sni('*.example.org')], ca_certificates: [ca] }));
  const router = new Router();
  registerDataPlaneAdmin(router, () => store);
  const get = async (path: string, method = 'GET') => {
    const m = router.match(method, path);
    if (m.kind !== 'found') throw new Error(`${method} ${path}: ${m.kind}`);
    return m.handler({ method, path, params: m.params, query: new URLSearchParams(), headers: {}, body: async () => ({}), bodyKind: () => 'none' } as unknown as AdminRequest);
  };
  expect((await get('/certificates')).body).toMatchObject({ data: [{ id: cert.id, snis: ['*.example.org', 'b.example.com'] }] });
  expect(await get(`/certificates/${cert.id}`)).toMatchObject({ status: 200, body: { snis: ['*.example.org', 'b.example.com'] } });
  expect(await get('/certificates/b.example.com')).toMatchObject({ status: 200, body: { id: cert.id } });
  expect((await get('/certificates/unknown.example.com')).status).toBe(404);
  expect((await get('/certificates/b.example.com/snis')).body).toMatchObject({ data: [{}, {}] });
  expect(await get('/snis/*.example.org')).toMatchObject({ status: 200, body: { certificate: { id: cert.id } } });
  expect(await get(`/ca_certificates/${ca.id}`)).toMatchObject({ status: 200, body: { cert_digest: 'd' } });
  expect((await get('/certificates', 'POST')).status).toBe(400);
  // The store's rows are not changed by what the Admin API adds to its answers.
  expect(store.tables.certificates.get(cert.id)).not.toHaveProperty('snis');
});
