// Kong's spec/02-integration/04-admin_api/16-ca_certificates_routes_spec.lua, one test per `it`.
// Kong's fixtures: `cert_alt` there is an expired certificate; here `cert_ca_expired` is.
// `db:truncate("ca_certificates")` in Kong's lazy_setup becomes a DELETE of the table's rows.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startKongAdmin, type KongAdmin } from './admin-client.ts';
import { ssl } from '../../support/tls-fixtures.ts';

let api: KongAdmin;
const NOT_CA = 'schema violation (certificate does not appear to be a CA because it is missing the "CA" basic constraint)';
const EXPIRED = 'schema violation (certificate expired, "Not After" time is in the past)';

beforeAll(async () => {
  api = await startKongAdmin('kongca');
});
afterAll(async () => {
  await api?.close();
});

async function freshCa(): Promise<{ id: string; updated_at: number }> {
  await api.pool.query('DELETE FROM services');
  await api.pool.query('DELETE FROM ca_certificates');
  const res = await api.call('POST', '/ca_certificates', { cert: ssl.cert_ca2 });
  expect(res.status).toBe(201);
  return res.body;
}

describe('/ca_certificates', () => {
  test('GET', async () => {
    let res = await api.call('GET', '/ca_certificates');
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(0);
    expect((await api.call('POST', '/ca_certificates', { cert: ssl.cert_ca })).status).toBe(201);
    res = await api.call('GET', '/ca_certificates');
    expect(res.body.data).toHaveLength(1);
    expect(res.body.data[0].cert).toBe(ssl.cert_ca);
    expect(res.body.data[0].cert_digest).toMatch(/^[0-9a-f]{64}$/);
  });

  describe('POST', () => {
    test('succeeds', async () => {
      expect((await api.call('POST', '/ca_certificates', { cert: ssl.cert_ca2 })).status).toBe(201);
    });
    test('missing field', async () => {
      const res = await api.call('POST', '/ca_certificates', {});
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('schema violation (cert: required field missing)');
    });
    test('non CA cert', async () => {
      const res = await api.call('POST', '/ca_certificates', { cert: ssl.cert });
      expect(res.status).toBe(400);
      expect(res.body.message).toBe(NOT_CA);
    });
    test('expired cert', async () => {
      const res = await api.call('POST', '/ca_certificates', { cert: ssl.cert_ca_expired });
      expect(res.status).toBe(400);
      expect(res.body.message).toBe(EXPIRED);
    });
    test('multiple certs', async () => {
      const res = await api.call('POST', '/ca_certificates', { cert: `${ssl.cert}\n${ssl.cert}` });
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('schema violation (please submit only one certificate at a time)');
    });
  });

  describe('DELETE', () => {
    let ca: { id: string };
    beforeAll(async () => {
      ca = await freshCa();
    });
    test('not allowed to delete if it is referenced by other entities', async () => {
      const svc = await api.call('POST', '/services/', { url: 'https://127.0.0.1:15555', protocol: 'https', ca_certificates: [ca.id] });
      expect(svc.status).toBe(201);
      const res = await api.call('DELETE', `/ca_certificates/${ca.id}`);
      expect(res.status).toBe(400);
      expect(res.body.message).toBe(`ca certificate ${ca.id} is still referenced by services (id = ${svc.body.id})`);
      expect((await api.call('DELETE', `/services/${svc.body.id}`)).status).toBe(204);
    });
    test('works', async () => {
      expect((await api.call('DELETE', `/ca_certificates/${ca.id}`)).status).toBe(204);
      expect((await api.call('GET', '/ca_certificates')).body.data).toHaveLength(0);
    });
  });

  describe('PATCH', () => {
    let ca: { id: string; updated_at: number };
    beforeAll(async () => {
      ca = await freshCa();
    });
    test('non CA cert', async () => {
      const res = await api.call('PATCH', `/ca_certificates/${ca.id}`, { cert: ssl.cert });
      expect(res.status).toBe(400);
      expect(res.body.message).toBe(NOT_CA);
    });
    test('expired cert', async () => {
      const res = await api.call('PATCH', `/ca_certificates/${ca.id}`, { cert: ssl.cert_ca_expired });
      expect(res.status).toBe(400);
      expect(res.body.message).toBe(EXPIRED);
    });
    test('works', async () => {
      // Kong sleeps a second so updated_at moves; the row is aged instead.
      await api.pool.query(`UPDATE ca_certificates SET updated_at = updated_at - interval '5 seconds' WHERE id = $1`, [ca.id]);
      const aged = (await api.call('GET', `/ca_certificates/${ca.id}`)).body;
      const res = await api.call('PATCH', `/ca_certificates/${ca.id}`, { cert: ssl.cert_ca });
      expect(res.status).toBe(200);
      expect(aged.updated_at).toBeLessThan(res.body.updated_at);
      expect(res.body.cert_digest).not.toBe(aged.cert_digest);
    });
  });

  describe('PUT', () => {
    let ca: { id: string };
    beforeAll(async () => {
      ca = await freshCa();
    });
    test('missing field', async () => {
      const res = await api.call('PUT', `/ca_certificates/${ca.id}`, {});
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('schema violation (cert: required field missing)');
    });
    test('non CA cert', async () => {
      const res = await api.call('PUT', `/ca_certificates/${ca.id}`, { cert: ssl.cert });
      expect(res.status).toBe(400);
      expect(res.body.message).toBe(NOT_CA);
    });
    test('expired cert', async () => {
      const res = await api.call('PUT', `/ca_certificates/${ca.id}`, { cert: ssl.cert_ca_expired });
      expect(res.status).toBe(400);
      expect(res.body.message).toBe(EXPIRED);
    });
    test('updates existing cert', async () => {
      expect((await api.call('PUT', `/ca_certificates/${ca.id}`, { cert: ssl.cert_ca })).status).toBe(200);
      const res = await api.call('GET', '/ca_certificates');
      expect(res.body.data).toHaveLength(1);
      expect(res.body.data[0].cert).toBe(ssl.cert_ca);
    });
    test('creates new cert when uuid does not exist', async () => {
      await api.pool.query('DELETE FROM ca_certificates');
      const id = '123e4567-e89b-12d3-a456-426655440000';
      expect((await api.call('PUT', `/ca_certificates/${id}`, { cert: ssl.cert_ca })).status).toBe(200);
      const res = await api.call('GET', `/ca_certificates/${id}`);
      expect(res.status).toBe(200);
      expect(res.body.cert).toBe(ssl.cert_ca);
    });
  });
});

describe('field errors name the field and never repeat the PEM (beyond Kong spec)', () => {
  test('a certificate that does not parse: 400 naming cert', async () => {
    const res = await api.call('POST', '/certificates', { cert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', key: ssl.key });
    expect(res.status).toBe(400);
    expect(res.body.fields.cert).toMatch(/^invalid certificate: /);
    expect(res.text).not.toContain('PRIVATE KEY');
  });
  test('a key that does not parse: 400 naming key, without the key text', async () => {
    const broken = ssl.key.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!');
    const res = await api.call('POST', '/certificates', { cert: ssl.cert, key: broken });
    expect(res.status).toBe(400);
    expect(res.body.fields.key).toMatch(/^invalid key: /);
    expect(res.text).not.toContain('PRIVATE KEY');
    expect(res.text).not.toContain(broken.split('\n')[2]);
  });
});

describe("services' upstream TLS fields (Kong's services entity_checks, beyond the spec files)", () => {
  test('client_certificate, tls_verify, tls_verify_depth and ca_certificates must be null unless the protocol is https or tls', async () => {
    const res = await api.call('POST', '/services', { url: 'http://127.0.0.1:15555', tls_verify: true, tls_verify_depth: 2 });
    expect(res.status).toBe(400);
    expect(res.body.fields).toEqual({ tls_verify: 'value must be null', tls_verify_depth: 'value must be null' });
  });

  test('a client_certificate naming no certificate is a foreign key violation; one in use is not deleted', async () => {
    const missing = await api.call('POST', '/services', { url: 'https://127.0.0.1:15555', client_certificate: { id: '4e2b7c1a-8d3f-4b6a-9c0e-1f2a3b4c5d6e' } });
    expect(missing.status).toBe(400);
    expect(missing.body.name).toBe('foreign key violation');
    const cert = (await api.call('POST', '/certificates', { cert: ssl.cert, key: ssl.key })).body;
    const svc = await api.call('POST', '/services', { url: 'https://127.0.0.1:15555', client_certificate: { id: cert.id } });
    expect(svc.status).toBe(201);
    const del = await api.call('DELETE', `/certificates/${cert.id}`);
    expect(del.status).toBe(400);
    expect(del.body.message).toBe("an existing 'services' entity references this 'certificates' entity");
    expect((await api.call('DELETE', `/services/${svc.body.id}`)).status).toBe(204);
    expect((await api.call('DELETE', `/certificates/${cert.id}`)).status).toBe(204);
  });
});
