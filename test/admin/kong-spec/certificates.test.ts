// Kong's spec/02-integration/04-admin_api/06-certificates_routes_spec.lua, one test per `it`
// (it_content_types: one per content type, as Kong's helper expands them). `bp.*:insert`
// becomes an Admin API write; `db.certificates:select_with_name_list` a GET.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CONTENT_TYPES, startKongAdmin, type ContentType, type KongAdmin } from './admin-client.ts';
import { ssl } from '../../support/tls-fixtures.ts';

let api: KongAdmin;
let n = 0;
const getName = () => `name${String(++n).padStart(4, '0')}.test`;

beforeAll(async () => {
  api = await startKongAdmin('kongcerts');
});
afterAll(async () => {
  await api?.close();
});

async function addCertificate(alt = false) {
  const names = [getName(), getName()];
  const body: Record<string, unknown> = { cert: ssl.cert, key: ssl.key, snis: names };
  if (alt) Object.assign(body, { cert_alt: ssl.cert_ecdsa, key_alt: ssl.key_ecdsa });
  if (!alt) {
    const v = await api.call('POST', '/schemas/certificates/validate', body);
    expect(v.status).toBe(200);
    expect(v.body.message).toBe('schema validation successful');
  }
  const res = await api.call('POST', '/certificates', body);
  expect(res.status).toBe(201);
  return { certificate: res.body, names };
}

async function getCertificates() {
  const res = await api.call('GET', '/certificates?size=1000');
  expect(res.status).toBe(200);
  for (const c of res.body.data) delete c.updated_at;
  return res.body;
}

const allSnis = async () => (await getCertificates()).data.flatMap((c: { snis: string[] }) => c.snis);

/** Kong's form bodies: multipart names array items `snis[1]`; url-encoded repeats the key. */
function formBody(type: ContentType, body: Record<string, unknown>): Record<string, unknown> {
  if (type !== 'multipart/form-data' || !Array.isArray(body.snis)) return body;
  const out: Record<string, unknown> = { ...body };
  delete out.snis;
  (body.snis as string[]).forEach((s, i) => (out[`snis[${i + 1}]`] = s));
  return out;
}

describe('/certificates GET', () => {
  test('retrieves all certificates with snis', async () => {
    // Kong's spec runs this on an empty database and finds one certificate; here other tests
    // share the database, so the certificate is found by its SNIs.
    const mySnis = Array.from({ length: 150 }, (_, i) => `my-sni-${String(i + 1).padStart(3, '0')}.test`);
    const res = await api.call('POST', '/certificates', { cert: ssl.cert, key: ssl.key, snis: mySnis });
    expect(res.status).toBe(201);
    const json = await getCertificates();
    const mine = json.data.filter((c: { id: string }) => c.id === res.body.id);
    expect(mine).toHaveLength(1);
    expect(typeof mine[0].cert).toBe('string');
    expect(typeof mine[0].key).toBe('string');
    expect(mine[0].cert_alt).toBeNull();
    expect(mine[0].key_alt).toBeNull();
    expect(mine[0].snis).toEqual(mySnis);
  });
});

describe('/certificates POST', () => {
  test('returns a conflict when duplicated snis are present in the request', async () => {
    const [n1, n2] = [getName(), getName()];
    const res = await api.call('POST', '/certificates', { cert: ssl.cert, key: ssl.key, snis: [n1, n2, n1] });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe(`schema violation (snis: ${n1} is duplicated)`);
    const snis = await allSnis();
    expect(snis).not.toContain(n1);
    expect(snis).not.toContain(n2);
  });

  test('returns a conflict when a pre-existing sni is detected', async () => {
    const [n1, n2] = [getName(), getName()];
    expect((await api.call('POST', '/certificates', { cert: ssl.cert, key: ssl.key, snis: [n1] })).status).toBe(201);
    const res = await api.call('POST', '/certificates', { cert: ssl.cert, key: ssl.key, snis: [n1, n2] });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain(`snis: ${n1} already associated with existing certificate`);
    expect(await allSnis()).not.toContain(n2);
  });

  for (const type of CONTENT_TYPES) {
    test(`creates a certificate and returns it with the snis pseudo-property with ${type}`, async () => {
      const [n1, n2] = [getName(), getName()];
      const res = await api.call('POST', '/certificates', formBody(type, { cert: ssl.cert, key: ssl.key, snis: [n1, n2] }), type);
      expect(res.status).toBe(201);
      expect(res.body.cert).toBe(ssl.cert);
      expect(typeof res.body.key).toBe('string');
      expect(res.body.cert_alt).toBeNull();
      expect(res.body.key_alt).toBeNull();
      expect(res.body.snis).toEqual([n1, n2]);
    });
  }

  for (const type of CONTENT_TYPES) {
    test(`returns snis as [] when none is set with ${type}`, async () => {
      const res = await api.call('POST', '/certificates', { cert: ssl.cert, key: ssl.key }, type);
      expect(res.status).toBe(201);
      expect(res.body.cert_alt).toBeNull();
      expect(res.body.key_alt).toBeNull();
      expect(res.text).toContain('"snis":[]');
    });
  }
});

describe('/certificates/cert_id_or_sni GET', () => {
  test('retrieves a certificate by id', async () => {
    const { certificate, names } = await addCertificate();
    const res = await api.call('GET', `/certificates/${certificate.id}`);
    expect(res.status).toBe(200);
    expect(res.body.cert).toBe(ssl.cert);
    expect(res.body.key).toBe(ssl.key);
    expect(res.body.cert_alt).toBeNull();
    expect(res.body.key_alt).toBeNull();
    expect(res.body.snis).toEqual(names);
  });

  test('retrieves a certificate by id with alternate certificate', async () => {
    const { certificate, names } = await addCertificate(true);
    const res = await api.call('GET', `/certificates/${certificate.id}`);
    expect(res.status).toBe(200);
    expect(res.body.cert_alt).toBe(ssl.cert_ecdsa);
    expect(res.body.key_alt).toBe(ssl.key_ecdsa);
    expect(res.body.snis).toEqual(names);
  });

  test('retrieves a certificate by sni', async () => {
    const { names } = await addCertificate();
    const r1 = await api.call('GET', `/certificates/${names[0]}`);
    const r2 = await api.call('GET', `/certificates/${names[1]}`);
    expect(r1.status).toBe(200);
    expect(r1.body.cert_alt).toBeNull();
    expect(r1.body.snis).toEqual(names);
    expect(r1.body).toEqual(r2.body);
  });

  test('retrieves a certificate by sni with alternate certificate', async () => {
    const { names } = await addCertificate(true);
    const r1 = await api.call('GET', `/certificates/${names[0]}`);
    const r2 = await api.call('GET', `/certificates/${names[1]}`);
    expect(r1.status).toBe(200);
    expect(r1.body.cert_alt).toBe(ssl.cert_ecdsa);
    expect(r1.body.snis).toEqual(names);
    expect(r1.body).toEqual(r2.body);
  });

  test('returns 404 for a random non-existing uuid', async () => {
    expect((await api.call('GET', `/certificates/${randomUUID()}`)).status).toBe(404);
  });

  test('returns 404 for a random non-existing sni', async () => {
    const res = await api.call('GET', '/certificates/doesntexist.test');
    expect(res.status).toBe(404);
    expect(res.body.message).toBe('SNI not found');
  });
});

describe('/certificates/cert_id_or_sni PUT', () => {
  test('creates if not found', async () => {
    const n1 = getName();
    const id = randomUUID();
    const res = await api.call('PUT', `/certificates/${id}`, { cert: ssl.cert, key: ssl.key, snis: [n1] });
    expect(res.status).toBe(200);
    expect(res.body.cert).toBe(ssl.cert);
    expect(res.body.cert_alt).toBeNull();
    expect(res.body.snis).toEqual([n1]);
    expect((await api.call('GET', `/certificates/${id}`)).body).toEqual(res.body);
  });

  test('creates a new sni when provided in the url', async () => {
    const [n1, n2] = [getName(), getName()];
    const res = await api.call('PUT', `/certificates/${n1}`, { cert: ssl.cert, key: ssl.key, snis: [n2] });
    expect(res.status).toBe(200);
    expect(res.body.snis).toEqual([n1, n2]);
    expect((await api.call('GET', `/certificates/${res.body.id}`)).body).toEqual(res.body);
  });

  test('creates a new sni when provided in the url (with sni duplicated in url and body)', async () => {
    const [n1, n2] = [getName(), getName()];
    const res = await api.call('PUT', `/certificates/${n1}`, { cert: ssl.cert, key: ssl.key, snis: [n1, n2] });
    expect(res.status).toBe(200);
    expect(res.body.snis).toEqual([n1, n2]);
    expect((await api.call('GET', `/certificates/${res.body.id}`)).body).toEqual(res.body);
  });

  test('upserts if found', async () => {
    const { certificate } = await addCertificate();
    // Kong sleeps a second so updated_at moves; the row is aged instead.
    await api.pool.query(`UPDATE certificates SET updated_at = updated_at - interval '5 seconds' WHERE id = $1`, [certificate.id]);
    const before = (await api.call('GET', `/certificates/${certificate.id}`)).body;
    const res = await api.call('PUT', `/certificates/${certificate.id}`, { cert: ssl.cert_alt, key: ssl.key_alt });
    expect(res.status).toBe(200);
    expect(res.body.cert).toBe(ssl.cert_alt);
    expect(res.body.key).toBe(ssl.key_alt);
    expect(res.body.cert_alt).toBeNull();
    expect(res.body.key_alt).toBeNull();
    expect(res.body.snis).toEqual([]);
    expect(before.updated_at).toBeLessThan(res.body.updated_at);
    expect((await api.call('GET', `/certificates/${certificate.id}`)).body).toEqual(res.body);
  });

  test('upserts if found with alternate certificate', async () => {
    const { certificate } = await addCertificate(true);
    const res = await api.call('PUT', `/certificates/${certificate.id}`, {
      cert: ssl.cert_alt,
      key: ssl.key_alt,
      cert_alt: ssl.cert_alt_ecdsa,
      key_alt: ssl.key_alt_ecdsa,
    });
    expect(res.status).toBe(200);
    expect(res.body.cert).toBe(ssl.cert_alt);
    expect(res.body.key).toBe(ssl.key_alt);
    expect(res.body.cert_alt).toBe(ssl.cert_alt_ecdsa);
    expect(res.body.key_alt).toBe(ssl.key_alt_ecdsa);
    expect(res.body.snis).toEqual([]);
    expect((await api.call('GET', `/certificates/${certificate.id}`)).body).toEqual(res.body);
  });

  test('handles invalid input', async () => {
    const res = await api.call('PUT', `/certificates/${randomUUID()}`, {});
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      code: 2,
      name: 'schema violation',
      message: '2 schema violations (cert: required field missing; key: required field missing)',
      fields: { cert: 'required field missing', key: 'required field missing' },
    });
  });

  test('handles invalid input with alternate certificate', async () => {
    const res = await api.call('PUT', `/certificates/${randomUUID()}`, { cert: ssl.cert, key: ssl.key, cert_alt: ssl.cert_ecdsa });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      code: 2,
      name: 'schema violation',
      message: "schema violation (all or none of these fields must be set: 'cert_alt', 'key_alt')",
      fields: { '@entity': ["all or none of these fields must be set: 'cert_alt', 'key_alt'"] },
    });
  });

  test('handles mismatched keys/certificates', async () => {
    const res = await api.call('POST', '/certificates', { cert: ssl.cert, key: ssl.key_alt });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      code: 2,
      name: 'schema violation',
      message: 'schema violation (certificate does not match key)',
      fields: { '@entity': ['certificate does not match key'] },
    });
  });

  test('handles mismatched keys/certificates with alternate certificate', async () => {
    const res = await api.call('POST', '/certificates', { cert: ssl.cert, key: ssl.key, cert_alt: ssl.cert_ecdsa, key_alt: ssl.key_alt_ecdsa });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      code: 2,
      name: 'schema violation',
      message: 'schema violation (alternative certificate does not match key)',
      fields: { '@entity': ['alternative certificate does not match key'] },
    });
  });

  test('errors on non-distinct certs', async () => {
    const res = await api.call('POST', '/certificates', { cert: ssl.cert, key: ssl.key, cert_alt: ssl.cert, key_alt: ssl.key });
    expect(res.status).toBe(400);
    const msg =
      'certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), the provided certificates were both of the same type';
    expect(res.body).toEqual({ code: 2, name: 'schema violation', message: `schema violation (${msg})`, fields: { '@entity': [msg] } });
  });
});

describe('/certificates/cert_id_or_sni PATCH', () => {
  for (const type of CONTENT_TYPES) {
    test(`updates a certificate by cert id with ${type}`, async () => {
      const { certificate } = await addCertificate();
      const res = await api.call('PATCH', `/certificates/${certificate.id}`, { cert: ssl.cert_alt, key: ssl.key_alt }, type);
      expect(res.status).toBe(200);
      expect(res.body.cert).toBe(ssl.cert_alt);
      expect(res.body.cert_alt).toBeNull();
      expect(res.body.key_alt).toBeNull();
    });
  }

  for (const type of CONTENT_TYPES) {
    test(`updates a certificate by cert id with alternate certificate with ${type}`, async () => {
      const { certificate } = await addCertificate(true);
      const body = { cert: ssl.cert_alt, key: ssl.key_alt, cert_alt: ssl.cert_alt_ecdsa, key_alt: ssl.key_alt_ecdsa };
      const res = await api.call('PATCH', `/certificates/${certificate.id}`, body, type);
      expect(res.status).toBe(200);
      expect(res.body.cert).toBe(ssl.cert_alt);
      expect(res.body.cert_alt).toBe(ssl.cert_alt_ecdsa);
    });
  }

  for (const alt of [false, true]) {
    for (const type of CONTENT_TYPES) {
      test(`update by id returns full certificate${alt ? ' with alternative certificate' : ''} with ${type}`, async () => {
        const { certificate } = await addCertificate(alt);
        const res = await api.call('PATCH', `/certificates/${certificate.id}`, {}, type);
        expect(res.status).toBe(200);
        delete res.body.updated_at;
        delete certificate.updated_at;
        expect(res.body).toEqual(certificate);
      });
    }
  }

  for (const type of CONTENT_TYPES) {
    test(`updates a certificate by sni with ${type}`, async () => {
      const { names } = await addCertificate();
      const res = await api.call('PATCH', `/certificates/${names[0]}`, { cert: ssl.cert_alt, key: ssl.key_alt }, type);
      expect(res.status).toBe(200);
      expect(res.body.cert).toBe(ssl.cert_alt);
      expect(res.body.cert_alt).toBeNull();
    });
  }

  for (const type of CONTENT_TYPES) {
    test(`updates a certificate by sni with alternate certificate with ${type}`, async () => {
      const { names } = await addCertificate(true);
      const body = { cert: ssl.cert_alt, key: ssl.key_alt, cert_alt: ssl.cert_alt_ecdsa, key_alt: ssl.key_alt_ecdsa };
      const res = await api.call('PATCH', `/certificates/${names[0]}`, body, type);
      expect(res.status).toBe(200);
      expect(res.body.cert).toBe(ssl.cert_alt);
      expect(res.body.key).toBe(ssl.key_alt);
      expect(res.body.cert_alt).toBe(ssl.cert_alt_ecdsa);
      expect(res.body.key_alt).toBe(ssl.key_alt_ecdsa);
    });
  }

  for (const alt of [false, true]) {
    for (const type of CONTENT_TYPES) {
      test(`update by sni returns full certificate${alt ? ' with alternate certificate' : ''} with ${type}`, async () => {
        const { certificate, names } = await addCertificate(alt);
        const res = await api.call('PATCH', `/certificates/${names[0]}`, {}, type);
        expect(res.status).toBe(200);
        delete res.body.updated_at;
        delete certificate.updated_at;
        expect(res.body).toEqual(certificate);
      });
    }
  }

  test('returns 404 for a random non-existing id', async () => {
    const n1 = getName();
    const res = await api.call('PATCH', `/certificates/${randomUUID()}`, { cert: ssl.cert, key: ssl.key, snis: [n1] });
    expect(res.status).toBe(404);
    expect(await allSnis()).not.toContain(n1);
  });

  for (const alt of [false, true]) {
    test(`updates snis associated with a certificate${alt ? ' with alternate certificate' : ''}`, async () => {
      const { certificate } = await addCertificate(alt);
      const n1 = getName();
      const before = await getCertificates();
      const res = await api.call('PATCH', `/certificates/${certificate.id}`, { snis: [n1] });
      expect(res.status).toBe(200);
      expect(res.body.snis).toEqual([n1]);
      const after = await getCertificates();
      expect(after.data.length).toBe(before.data.length);
      after.data.forEach((c: { id: string; snis: string[] }, i: number) => {
        expect(c.snis).toEqual(c.id === certificate.id ? [n1] : before.data[i].snis);
      });
    });
  }

  test('updates only the certificate if no snis are specified', async () => {
    const { certificate, names } = await addCertificate();
    const before = await getCertificates();
    const res = await api.call('PATCH', `/certificates/${certificate.id}`, { cert: ssl.cert, key: ssl.key });
    expect(res.status).toBe(200);
    expect(res.body.snis).toEqual(names);
    expect(res.body.cert).toBe(ssl.cert);
    expect(res.body.key).toBe(ssl.key);
    expect(res.body.cert_alt).toBeNull();
    const got = await api.call('GET', `/certificates/${certificate.id}`);
    expect(got.body.cert).toBe(ssl.cert);
    expect(got.body.key).toBe(ssl.key);
    expect(await getCertificates()).toEqual(before);
  });

  test('returns a conflict when duplicated snis are present in the request', async () => {
    const { certificate } = await addCertificate();
    const before = await getCertificates();
    const n1 = getName();
    const res = await api.call('PATCH', `/certificates/${certificate.id}`, { snis: [n1, n1] });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe(`schema violation (snis: ${n1} is duplicated)`);
    expect(await getCertificates()).toEqual(before);
  });

  test('returns a conflict when a pre-existing sni present in the request is associated with another certificate', async () => {
    const { certificate } = await addCertificate();
    const { certificate: certificate2, names: names2 } = await addCertificate();
    const before = await getCertificates();
    const res = await api.call('PATCH', `/certificates/${certificate.id}`, { snis: names2 });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe(`schema violation (snis: ${names2[0]} already associated with existing certificate '${certificate2.id}')`);
    expect(await getCertificates()).toEqual(before);
  });

  test('deletes all snis from a certificate if snis field is JSON null', async () => {
    const { certificate } = await addCertificate();
    const before = await getCertificates();
    const res = await api.call('PATCH', `/certificates/${certificate.id}`, { snis: null });
    expect(res.status).toBe(200);
    expect(res.body.snis).toEqual([]);
    expect(res.text).toContain('"snis":[]');
    const after = await getCertificates();
    expect(after.data.length).toBe(before.data.length);
    after.data.forEach((c: { id: string; snis: string[] }, i: number) => {
      expect(c.snis).toEqual(c.id === certificate.id ? [] : before.data[i].snis);
    });
  });
});

describe('/certificates/cert_id_or_sni DELETE', () => {
  test('deletes a certificate and all related snis', async () => {
    const before = await getCertificates();
    const { names } = await addCertificate();
    expect((await api.call('DELETE', `/certificates/${names[0]}`)).status).toBe(204);
    expect(await getCertificates()).toEqual(before);
  });

  test('deletes a certificate by id', async () => {
    const before = await getCertificates();
    const { certificate } = await addCertificate();
    expect((await api.call('DELETE', `/certificates/${certificate.id}`)).status).toBe(204);
    expect(await getCertificates()).toEqual(before);
  });
});

describe('/certificates/:certificate/snis', () => {
  test("POST errors: certificate doesn't exist", async () => {
    const res = await api.call('POST', '/certificates/585e4c16-c656-11e6-8db9-5f512d8a12cd/snis', { name: getName() });
    expect(res.status).toBe(404);
    expect(res.body.message).toBe('Not found');
  });

  for (const type of CONTENT_TYPES) {
    test(`creates a sni using a certificate id with ${type}`, async () => {
      const { certificate } = await addCertificate();
      const n1 = getName();
      const res = await api.call('POST', `/certificates/${certificate.id}/snis`, { name: n1 }, type);
      expect(res.status).toBe(201);
      expect(res.body.name).toBe(n1);
      expect(res.body.certificate.id).toBe(certificate.id);
    });
  }

  for (const type of CONTENT_TYPES) {
    test(`creates a sni using a sni to id the certificate with ${type}`, async () => {
      const { certificate, names } = await addCertificate();
      const n1 = getName();
      const res = await api.call('POST', `/certificates/${names[0]}/snis`, { name: n1 }, type);
      expect(res.status).toBe(201);
      expect(res.body.name).toBe(n1);
      expect(res.body.certificate.id).toBe(certificate.id);
    });
  }

  test('returns a conflict when an sni already exists', async () => {
    const { certificate, names } = await addCertificate();
    const res = await api.call('POST', `/certificates/${certificate.id}/snis`, { name: names[0] });
    expect(res.status).toBe(409);
    expect(res.body.name).toBe('unique constraint violation');
  });

  test('GET retrieves a list of snis', async () => {
    const n1 = getName();
    const certificate = (await api.call('POST', '/certificates', { cert: ssl.cert, key: ssl.key })).body;
    expect((await api.call('POST', '/snis', { name: n1, certificate: { id: certificate.id } })).status).toBe(201);
    const res = await api.call('GET', `/certificates/${certificate.id}/snis`);
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(1);
    expect(res.body.data[0].name).toBe(n1);
    expect(res.body.data[0].certificate.id).toBe(certificate.id);
  });
});

describe('/snis/:name wildcard snis', () => {
  test('POST creates with prefix wildcard', async () => {
    const { certificate } = await addCertificate();
    const n1 = getName();
    const res = await api.call('POST', '/snis', { name: `*.${n1}`, certificate: { id: certificate.id } });
    expect(res.status).toBe(201);
    expect(res.body.name).toBe(`*.${n1}`);
    expect(res.body.certificate.id).toBe(certificate.id);
  });

  test('POST creates with suffix wildcard', async () => {
    const { certificate } = await addCertificate();
    const n1 = getName();
    const res = await api.call('POST', '/snis', { name: `${n1}.*`, certificate: { id: certificate.id } });
    expect(res.status).toBe(201);
    expect(res.body.name).toBe(`${n1}.*`);
  });

  test('POST rejects invalid SNIs', async () => {
    const { certificate } = await addCertificate();
    const res = await api.call('POST', '/snis', { name: '*.wildcard.*', certificate: { id: certificate.id } });
    expect(res.status).toBe(400);
    expect(res.body.fields.name).toBe('only one wildcard must be specified');
  });

  test('GET retrieves a wildcard SNI using the name', async () => {
    const { certificate } = await addCertificate();
    expect((await api.call('POST', '/snis', { name: '*.wildcard.test', certificate: { id: certificate.id } })).status).toBe(201);
    const res = await api.call('GET', '/snis/%2A.wildcard.test');
    expect(res.status).toBe(200);
    expect(res.body.name).toBe('*.wildcard.test');
  });
});

describe('/snis/:name', () => {
  test('GET retrieves a sni using the name', async () => {
    const { certificate, names } = await addCertificate();
    const res = await api.call('GET', `/snis/${names[0]}`);
    expect(res.status).toBe(200);
    expect(res.body.name).toBe(names[0]);
    expect(res.body.certificate.id).toBe(certificate.id);
  });

  test('GET retrieves a sni using the id', async () => {
    const { certificate } = await addCertificate();
    const n1 = getName();
    const sni = (await api.call('POST', '/snis', { name: n1, certificate: { id: certificate.id } })).body;
    const res = await api.call('GET', `/snis/${sni.id}`);
    expect(res.status).toBe(200);
    expect(res.body.name).toBe(n1);
    expect(res.body.certificate.id).toBe(certificate.id);
  });

  test('PUT creates if not found', async () => {
    const { certificate } = await addCertificate();
    const n1 = getName();
    const id = randomUUID();
    const res = await api.call('PUT', `/snis/${id}`, { certificate: { id: certificate.id }, name: n1 });
    expect(res.status).toBe(200);
    expect(res.body.name).toBe(n1);
    expect((await api.call('GET', `/snis/${id}`)).body).toEqual(res.body);
  });

  test('PUT updates if found', async () => {
    const { certificate } = await addCertificate();
    const sni = (await api.call('POST', '/snis', { name: getName(), certificate: { id: certificate.id } })).body;
    await api.pool.query(`UPDATE snis SET updated_at = updated_at - interval '5 seconds' WHERE id = $1`, [sni.id]);
    const aged = (await api.call('GET', `/snis/${sni.id}`)).body;
    const n2 = getName();
    const res = await api.call('PUT', `/snis/${sni.id}`, { name: n2, certificate: { id: certificate.id } });
    expect(res.status).toBe(200);
    expect(res.body.name).toBe(n2);
    expect((await api.call('GET', `/snis/${sni.id}`)).body).toEqual(res.body);
    expect(aged.updated_at).toBeLessThan(res.body.updated_at);
  });

  test('PUT handles invalid input', async () => {
    const res = await api.call('PUT', `/snis/${randomUUID()}`, {});
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      code: 2,
      name: 'schema violation',
      message: '2 schema violations (certificate: required field missing; name: required field missing)',
      fields: { certificate: 'required field missing', name: 'required field missing' },
    });
  });

  for (const alt of [false, true]) {
    test(`PATCH updates a sni${alt ? ' with alternate certificate' : ''}`, async () => {
      const { certificate, names } = await addCertificate();
      const body: Record<string, unknown> = { cert: ssl.cert_alt, key: ssl.key_alt };
      if (alt) Object.assign(body, { cert_alt: ssl.cert_alt_ecdsa, key_alt: ssl.key_alt_ecdsa });
      const certificate2 = (await api.call('POST', '/certificates', body)).body;
      const res = await api.call('PATCH', `/snis/${names[0]}`, { certificate: { id: certificate2.id } });
      expect(res.status).toBe(200);
      expect(res.body.certificate.id).toBe(certificate2.id);
      expect((await api.call('GET', `/certificates/${certificate.id}`)).body.snis).toEqual([names[1]]);
      expect((await api.call('GET', `/certificates/${certificate2.id}`)).body.snis).toEqual([names[0]]);
    });
  }

  test('DELETE deletes a sni', async () => {
    const { certificate } = await addCertificate();
    const n1 = getName();
    expect((await api.call('POST', '/snis', { name: n1, certificate: { id: certificate.id } })).status).toBe(201);
    expect((await api.call('DELETE', `/snis/${n1}`)).status).toBe(204);
    expect((await api.call('GET', `/snis/${n1}`)).status).toBe(404);
  });
});
