// Kong/kong spec/02-integration/04-admin_api/10-services_routes_spec.lua, one `it` per Kong `it`
// (Kong's `it_content_types` runs each case form-encoded, multipart where its case does not
// return at once, and as JSON).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { FORM, MULTIPART, contentTypes, startKongSpecAdmin, type KongSpecAdmin } from './harness.ts';

const SPEC = '10-services_routes_spec.lua';
let k: KongSpecAdmin;
beforeAll(async () => {
  k = await startKongSpecAdmin('kservices');
});
afterAll(async () => {
  await k?.close();
});
const itContentTypes = contentTypes(SPEC, it);
const keyAuthInputs = (type: string) => (type === FORM ? 'name=key-auth&config.key_names%5B1%5D=apikey&config.key_names%5B2%5D=key' : { name: 'key-auth', config: { key_names: ['apikey', 'key'] } });

describe('/services POST', () => {
  itContentTypes(
    'creates a service',
    (type) => async () => {
      const res = await k.post('/services', { type, body: { protocol: 'http', host: 'service.test' } });
      expect(res.status).toBe(201);
      const json = res.body;
      expect(typeof json.id).toBe('string');
      expect(typeof json.created_at).toBe('number');
      expect(typeof json.updated_at).toBe('number');
      expect(json.name).toBeNull();
      expect(json).toMatchObject({ protocol: 'http', host: 'service.test', port: 80, connect_timeout: 60000, write_timeout: 60000, read_timeout: 60000 });
    },
    { multipart: true },
  );

  itContentTypes(
    'creates a service with url',
    (type) => async () => {
      const res = await k.post('/services', { type, body: { url: 'http://service.test/' } });
      expect(res.status).toBe(201);
      expect(res.body.name).toBeNull();
      expect(res.body).toMatchObject({ protocol: 'http', host: 'service.test', path: '/', port: 80, connect_timeout: 60000, write_timeout: 60000, read_timeout: 60000 });
    },
    { multipart: true },
  );

  itContentTypes(
    "'port' defaults to 443 when 'url' scheme is https",
    (type) => async () => {
      const res = await k.post('/services', { type, body: { url: 'https://service.test/' } });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ protocol: 'https', host: 'service.test', path: '/', port: 443 });
    },
    { multipart: true },
  );

  itContentTypes('client error with with empty url', (type) => async () => {
    expect((await k.post('/services', { type, body: { url: '' } })).status).toBe(400);
  }, { multipart: true });

  itContentTypes('client error with invalid url', (type) => async () => {
    expect((await k.post('/services', { type, body: { url: ' ' } })).status).toBe(400);
  }, { multipart: true });
});

describe('/services GET', () => {
  describe('with data', () => {
    beforeAll(async () => {
      await k.truncate('services', 'routes', 'plugins');
      for (let i = 0; i < 10; i++) await k.bp.named_services();
    });

    it(`${SPEC}: retrieves the first page`, async () => {
      const res = await k.get('/services');
      expect(res.status).toBe(200);
      expect(res.body.data).toHaveLength(10);
    });

    it(`${SPEC}: paginates a set`, async () => {
      const pages: unknown[] = [];
      let offset: string | undefined;
      for (let i = 1; i <= 4; i++) {
        const res = await k.get('/services', { query: offset ? { size: 3, offset } : { size: 3 } });
        expect(res.status).toBe(200);
        expect(res.body.data).toHaveLength(i < 4 ? 3 : 1);
        if (i > 1) expect(res.body).not.toEqual(pages[i - 2]);
        offset = res.body.offset;
        pages.push(res.body);
      }
    });

    it(`${SPEC}: propagate in next a page size`, async () => {
      const res = await k.get('/services', { query: { size: 3 } });
      expect(res.status).toBe(200);
      expect(res.body.next).toBe(`/services?offset=${encodeURIComponent(res.body.offset)}&size=3`);
    });
  });

  describe('with no data', () => {
    beforeAll(async () => {
      await k.truncate('services', 'routes', 'plugins');
    });
    it(`${SPEC}: data property is an empty array and not an empty hash`, async () => {
      const res = await k.get('/services');
      expect(res.status).toBe(200);
      expect(res.text).toMatch(/"data":\[\]/);
      expect(res.body).toEqual({ data: [], next: null });
    });

    it(`${SPEC}: handles invalid filters`, async () => {
      const res = await k.get('/services', { query: { foo: 'bar' } });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ data: [], next: null });
    });

    it(`${SPEC}: ignores an invalid body`, async () => {
      expect((await k.get('/services', { body: 'this fails if decoded as json' })).status).toBe(200);
    });
  });
});

describe('/services/{service}', () => {
  it(`${SPEC}: retrieves by id`, async () => {
    const service = await k.bp.services();
    const res = await k.get(`/services/${service.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(service);
  });

  it(`${SPEC}: retrieves by name`, async () => {
    const service = await k.bp.named_services();
    const res = await k.get(`/services/${service.name}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(service);
  });

  it(`${SPEC}: retrieves by utf-8 name and percent-escaped utf-8 name`, async () => {
    const service = await k.bp.services({ name: '円' });
    let res = await k.get(`/services/${encodeURI(service.name)}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(service);
    res = await k.get('/services/%E5%86%86');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(service);
  });

  it(`${SPEC}: returns 404 if not found`, async () => {
    expect((await k.get(`/services/${randomUUID()}`)).status).toBe(404);
  });

  it(`${SPEC}: returns 404 if not found by name`, async () => {
    expect((await k.get('/services/not-found')).status).toBe(404);
  });

  it(`${SPEC}: ignores an invalid body (/services/{service})`, async () => {
    const service = await k.bp.services();
    expect((await k.get(`/services/${service.id}`, { body: 'this fails if decoded as json' })).status).toBe(200);
  });

  it(`${SPEC}: ignores an invalid body by name`, async () => {
    const service = await k.bp.named_services();
    expect((await k.get(`/services/${service.name}`, { body: 'this fails if decoded as json' })).status).toBe(200);
  });

  itContentTypes('updates if found', (type) => async () => {
    const service = await k.bp.services();
    const res = await k.patch(`/services/${service.id}`, { type, body: { name: null, protocol: 'https' } });
    expect(res.status).toBe(200);
    expect(res.body.name).toBeNull();
    expect(res.body.protocol).toBe('https');
    expect(res.body.id).toBe(service.id);
    expect(await k.select('services', service.id)).toEqual(res.body);
  });

  itContentTypes(
    'updates if found by name',
    (type) => async () => {
      const service = await k.bp.named_services();
      const res = await k.patch(`/services/${service.name}`, { type, body: { protocol: 'https' } });
      expect(res.status).toBe(200);
      expect(res.body.protocol).toBe('https');
      expect(res.body.id).toBe(service.id);
      expect(res.body.name).toBe(service.name);
      expect(await k.select('services', service.id)).toEqual(res.body);
    },
    { multipart: true },
  );

  itContentTypes('updates with url', (type) => async () => {
    const service = await k.bp.services();
    let res = await k.patch(`/services/${service.id}`, { type, body: { url: 'http://example.test:443' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ protocol: 'http', host: 'example.test', port: 443, path: null, id: service.id });
    expect(await k.select('services', service.id)).toEqual(res.body);

    res = await k.patch(`/services/${service.id}`, { type, body: { url: 'https://example2.test:80/' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ protocol: 'https', host: 'example2.test', port: 80, path: '/', id: service.id });
    expect(await k.select('services', service.id)).toEqual(res.body);

    res = await k.patch(`/services/${service.id}`, { type, body: { url: 'http://example2.test' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ protocol: 'http', host: 'example2.test', port: 80, path: null, id: service.id });
    expect(await k.select('services', service.id)).toEqual(res.body);
  });

  it(`${SPEC}: deletes a service`, async () => {
    const service = await k.bp.services();
    const res = await k.delete(`/services/${service.id}`);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(await k.select('services', service.id)).toBeNull();
  });

  it(`${SPEC}: deletes a service by name`, async () => {
    const service = await k.bp.named_services();
    const res = await k.delete(`/services/${service.name}`);
    expect(res.status).toBe(204);
    expect(await k.select('services', service.id)).toBeNull();
  });

  it(`${SPEC}: returns HTTP 204 even if not found`, async () => {
    expect((await k.delete(`/services/${randomUUID()}`)).status).toBe(204);
  });

  it(`${SPEC}: returns HTTP 204 even if not found by name`, async () => {
    expect((await k.delete('/services/not-found')).status).toBe(204);
  });
});

describe('/services/{service}/routes', () => {
  itContentTypes(
    'lists all routes belonging to service',
    (type) => async () => {
      const service = await k.bp.services({ protocol: 'http', host: 'service.test' });
      const route = await k.bp.routes({ hosts: ['service.test'], service });
      await k.bp.routes({ hosts: ['service.test'], service: null });
      const res = await k.get(`/services/${service.id}/routes`, { headers: { 'content-type': type === MULTIPART ? `${MULTIPART}; boundary=x` : type } });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ data: [route], next: null });
    },
    { multipart: true },
  );
});

describe('/services/{service}/plugins', () => {
  itContentTypes('creates a plugin config for a Service', (type) => async () => {
    const service = await k.bp.services();
    const res = await k.post(`/services/${service.id}/plugins`, { type, body: keyAuthInputs(type) });
    expect(res.status).toBe(201);
    expect(res.body.name).toBe('key-auth');
    expect(res.body.config.key_names).toEqual(['apikey', 'key']);
  });

  itContentTypes('references a Service by name', (type) => async () => {
    const service = await k.bp.named_services();
    const res = await k.post(`/services/${service.name}/plugins`, { type, body: keyAuthInputs(type) });
    expect(res.status).toBe(201);
    expect(res.body.config.key_names).toEqual(['apikey', 'key']);
  });

  itContentTypes(
    'handles invalid input',
    (type) => async () => {
      const service = await k.bp.services();
      const res = await k.post(`/services/${service.id}/plugins`, { type, body: type === FORM ? '' : type === MULTIPART ? {} : '{}' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ code: 2, name: 'schema violation', message: 'schema violation (name: required field missing)', fields: { name: 'required field missing' } });
    },
    { multipart: true },
  );

  itContentTypes(
    'returns 409 on conflict (same plugin name)',
    (type) => async () => {
      const service = await k.bp.services();
      let res = await k.post(`/services/${service.id}/plugins`, { type, body: { name: 'basic-auth' } });
      expect(res.status).toBe(201);
      res = await k.post(`/services/${service.id}/plugins`, { type, body: { name: 'basic-auth' } });
      expect(res.status).toBe(409);
      expect(res.body).toEqual({
        code: 5,
        name: 'unique constraint violation',
        fields: { consumer: null, name: 'basic-auth', route: null, service: { id: service.id } },
        message: `UNIQUE violation detected on '{consumer=null,name="basic-auth",route=null,service={id="${service.id}"}}'`,
      });
    },
    { multipart: true },
  );

  it(`${SPEC}: updates a plugin`, async () => {
    const service = await k.bp.services();
    await k.bp.routes({ service: { id: service.id }, hosts: ['example.test'] });
    const plugin = await k.bp.key_auth_plugins({ service });
    const res = await k.patch(`/services/${service.id}/plugins/${plugin.id}`, { body: { enabled: false } });
    expect(res.status).toBe(200);
    expect(res.body.enabled).toBe(false);
    expect(await k.select('plugins', plugin.id)).toEqual(res.body);
  });

  it(`${SPEC}: updates a plugin bis`, async () => {
    const service = await k.bp.services();
    await k.bp.routes({ service: { id: service.id }, hosts: ['example.test'] });
    const plugin = await k.bp.key_auth_plugins({ service });
    plugin.enabled = !plugin.enabled;
    delete plugin.created_at;
    delete plugin.updated_at;
    const res = await k.patch(`/services/${service.id}/plugins/${plugin.id}`, { body: plugin });
    expect(res.status).toBe(200);
    expect(res.body.enabled).toBe(plugin.enabled);
  });

  it(`${SPEC}: updates a plugin (removing foreign key reference)`, async () => {
    const service = await k.bp.services();
    const plugin = await k.bp.key_auth_plugins({ service });
    const res = await k.patch(`/services/${service.id}/plugins/${plugin.id}`, { body: { service: null } });
    expect(res.status).toBe(200);
    expect(res.body.service).toBeNull();
    expect(await k.select('plugins', plugin.id)).toEqual(res.body);
  });

  it(`${SPEC}: handles invalid input (PATCH plugin)`, async () => {
    const service = await k.bp.services();
    await k.bp.routes({ service: { id: service.id }, hosts: ['example.test'] });
    const plugin = await k.bp.key_auth_plugins({ service, config: { key_names: ['testkey'] } });
    const before = await k.select('plugins', plugin.id);
    const res = await k.patch(`/services/${service.id}/plugins/${plugin.id}`, { body: { foo: 'bar' } });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ message: 'schema violation (foo: unknown field)', name: 'schema violation', fields: { foo: 'unknown field' }, code: 2 });
    const after = await k.select('plugins', plugin.id);
    expect(after).toEqual(before);
    expect((after!.config as { key_names: string[] }).key_names).toEqual(['testkey']);
  });

  it(`${SPEC}: returns 404 if not found (PATCH plugin)`, async () => {
    const service = await k.bp.services();
    const res = await k.patch(`/services/${service.id}/plugins/f4aecadc-05c7-11e6-8d41-1f3b3d5fa15c`, { body: { enabled: false } });
    expect(res.status).toBe(404);
  });

  it(`${SPEC}: retrieves the first page (plugins)`, async () => {
    const service = await k.bp.services();
    await k.bp.plugins({ name: 'key-auth', service: { id: service.id } });
    const res = await k.get(`/services/${service.id}/plugins`);
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(1);
  });

  it(`${SPEC}: ignores an invalid body (plugins)`, async () => {
    const service = await k.bp.services();
    expect((await k.get(`/services/${service.id}/plugins`, { body: 'this fails if decoded as json' })).status).toBe(200);
  });

  it(`${SPEC}: retrieves a plugin by id`, async () => {
    const service = await k.bp.services();
    const plugin = await k.bp.key_auth_plugins({ service });
    const res = await k.get(`/services/${service.id}/plugins/${plugin.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(await k.select('plugins', plugin.id));
  });

  it(`${SPEC}: retrieves a plugin by instance_name`, async () => {
    const service = await k.bp.services();
    const plugin = await k.bp.key_auth_plugins({ instance_name: `name-${randomUUID()}`, service });
    const res = await k.get(`/services/${service.id}/plugins/${plugin.instance_name}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(await k.select('plugins', plugin.id));
  });

  it(`${SPEC}: deletes a plugin by id`, async () => {
    const service = await k.bp.services();
    const plugin = await k.bp.key_auth_plugins({ service });
    expect((await k.delete(`/services/${service.id}/plugins/${plugin.id}`)).status).toBe(204);
    expect(await k.select('plugins', plugin.id)).toBeNull();
  });

  it(`${SPEC}: deletes a plugin by instance_name`, async () => {
    const service = await k.bp.services();
    const plugin = await k.bp.key_auth_plugins({ instance_name: `name-${randomUUID()}`, service });
    expect((await k.delete(`/services/${service.id}/plugins/${plugin.instance_name}`)).status).toBe(204);
    expect(await k.select('plugins', plugin.id)).toBeNull();
  });
});

describe('/services errors', () => {
  it(`${SPEC}: handles malformed JSON body`, async () => {
    const res = await k.post('/services', { body: '{"hello": "world"' });
    expect(res.status).toBe(400);
    expect(res.text).toBe('{"message":"Cannot parse JSON body"}');
  });

  itContentTypes(
    'handles invalid input (/services)',
    (type) => async () => {
      let res = await k.post('/services', { type, body: {} });
      expect(res.status).toBe(400);
      expect(res.body.fields).toEqual({ host: 'required field missing' });
      res = await k.post('/services', { type, body: { host: 'example.test', protocol: 'foo' } });
      expect(res.status).toBe(400);
      expect(res.body.fields).toEqual({ protocol: 'expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp' });
    },
    { multipart: true },
  );

  itContentTypes(
    'handles invalid url ',
    (type) => async () => {
      const res = await k.post('/services', { type, body: { url: 'invalid url' } });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        name: 'schema violation',
        code: 2,
        message: '2 schema violations (host: required field missing; path: should start with: /)',
        fields: { host: 'required field missing', path: 'should start with: /' },
      });
    },
    { multipart: true },
  );
});
