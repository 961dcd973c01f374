// Kong/kong spec/02-integration/04-admin_api/09-routes_routes_spec.lua, one `it` per Kong `it`
// (Kong's `it_content_types` runs each case form-encoded and as JSON; its multipart case is empty).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { FORM, MULTIPART, contentTypes, startKongSpecAdmin, type KongSpecAdmin } from './harness.ts';

const SPEC = '09-routes_routes_spec.lua';
let k: KongSpecAdmin;
beforeAll(async () => {
  k = await startKongSpecAdmin('kroutes');
});
afterAll(async () => {
  await k?.close();
});

const itContentTypes = contentTypes(SPEC, it);
const PROTOCOL_LIST = 'expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp';
const MUST_SET_HTTPS = "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'";

describe('/routes', () => {
  it(`${SPEC}: returns allow and CORS headers with OPTIONS method`, async () => {
    const res = await k.send('OPTIONS', '/routes');
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(res.headers.get('allow')).toBe('GET, HEAD, OPTIONS, POST');
    expect(res.headers.get('access-control-allow-methods')).toBe('GET, HEAD, OPTIONS, POST');
    expect(res.headers.get('access-control-allow-headers')).toBe('Content-Type');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('x-kong-admin-latency')).not.toBeNull();
  });

  describe('POST', () => {
    itContentTypes('creates a route', (type) => async () => {
      const res = await k.post('/routes', { type, body: { protocols: ['http'], hosts: ['my.route.test'], headers: { location: ['my-location'] }, service: await k.bp.services() } });
      expect(res.status).toBe(201);
      const json = res.body;
      expect(json.hosts).toEqual(['my.route.test']);
      expect(json.headers).toEqual({ location: ['my-location'] });
      expect(typeof json.created_at).toBe('number');
      expect(typeof json.regex_priority).toBe('number');
      expect(typeof json.id).toBe('string');
      expect(json.name).toBeNull();
      expect(json.paths).toBeNull();
      expect(json.preserve_host).toBe(false);
      expect(json.strip_path).toBe(true);
    });

    itContentTypes('creates a route #grpc', (type) => async () => {
      const res = await k.post('/routes', { type, body: { protocols: ['grpc', 'grpcs'], hosts: ['my.route.test'], service: await k.bp.services() } });
      expect(res.status).toBe(201);
      expect(res.body.hosts).toEqual(['my.route.test']);
      expect(res.body.name).toBeNull();
      expect(res.body.paths).toBeNull();
      expect(res.body.preserve_host).toBe(false);
      expect(res.body.strip_path).toBe(false);
      expect(res.body.protocols).toEqual(['grpc', 'grpcs']);
    });

    itContentTypes('creates a route without service', (type) => async () => {
      const res = await k.post('/routes', { type, body: { protocols: ['http'], hosts: ['my.route.test'] } });
      expect(res.status).toBe(201);
      expect(res.body.hosts).toEqual(['my.route.test']);
      expect(res.body.service).toBeNull();
      expect(res.body.paths).toBeNull();
      expect(res.body.strip_path).toBe(true);
    });

    itContentTypes('creates a route without service #grpc', (type) => async () => {
      const res = await k.post('/routes', { type, body: { protocols: ['grpc', 'grpcs'], hosts: ['my.route.test'] } });
      expect(res.status).toBe(201);
      expect(res.body.service).toBeNull();
      expect(res.body.strip_path).toBe(false);
      expect(res.body.protocols).toEqual(['grpc', 'grpcs']);
    });

    itContentTypes('creates a complex route', (type) => async () => {
      const s = await k.bp.services();
      const res = await k.post('/routes', { type, body: { protocols: ['http'], methods: ['GET', 'POST', 'PATCH'], hosts: ['foo.api.test', 'bar.api.test'], paths: ['/foo', '/bar'], service: { id: s.id } } });
      expect(res.status).toBe(201);
      expect(res.body.hosts).toEqual(['foo.api.test', 'bar.api.test']);
      expect(res.body.paths).toEqual(['/foo', '/bar']);
      expect(res.body.methods).toEqual(['GET', 'POST', 'PATCH']);
      expect(res.body.service.id).toBe(s.id);
    });

    itContentTypes('creates a complex route #grpc', (type) => async () => {
      const s = await k.bp.services();
      const res = await k.post('/routes', { type, body: { protocols: ['grpc', 'grpcs'], hosts: ['foo.api.test', 'bar.api.test'], paths: ['/foo', '/bar'], service: { id: s.id } } });
      expect(res.status).toBe(201);
      expect(res.body.paths).toEqual(['/foo', '/bar']);
      expect(res.body.service.id).toBe(s.id);
      expect(res.body.protocols).toEqual(['grpc', 'grpcs']);
    });

    itContentTypes('creates a complex route by referencing a service by name', (type) => async () => {
      const s = await k.bp.named_services();
      const res = await k.post('/routes', { type, body: { protocols: ['http'], methods: ['GET', 'POST', 'PATCH'], hosts: ['foo.api.test', 'bar.api.test'], paths: ['/foo', '/bar'], service: { name: s.name } } });
      expect(res.status).toBe(201);
      expect(res.body.methods).toEqual(['GET', 'POST', 'PATCH']);
      expect(res.body.service.id).toBe(s.id);
    });

    itContentTypes('creates a complex route by referencing a service by name #grpc', (type) => async () => {
      const s = await k.bp.named_services();
      const res = await k.post('/routes', { type, body: { protocols: ['grpc', 'grpcs'], hosts: ['foo.api.test', 'bar.api.test'], paths: ['/foo', '/bar'], service: { name: s.name } } });
      expect(res.status).toBe(201);
      expect(res.body.service.id).toBe(s.id);
      expect(res.body.protocols).toEqual(['grpc', 'grpcs']);
    });

    describe('errors', () => {
      it(`${SPEC}: handles malformed JSON body`, async () => {
        const res = await k.post('/routes', { body: '{"hello": "world"' });
        expect(res.status).toBe(400);
        expect(res.text).toBe('{"message":"Cannot parse JSON body"}');
      });

      itContentTypes('handles invalid input', (type) => async () => {
        let res = await k.post('/routes', { type, body: {} });
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ code: 2, name: 'schema violation', message: `schema violation (${MUST_SET_HTTPS})`, fields: { '@entity': [MUST_SET_HTTPS] } });

        res = await k.post('/routes', { type, body: { protocols: ['https'] } });
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ code: 2, name: 'schema violation', message: `schema violation (${MUST_SET_HTTPS})`, fields: { '@entity': [MUST_SET_HTTPS] } });

        res = await k.post('/routes', { type, body: { methods: ['GET'], protocols: ['foo', 'http'] } });
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ code: 2, name: 'schema violation', message: `schema violation (protocols.1: ${PROTOCOL_LIST})`, fields: { protocols: [PROTOCOL_LIST] } });

        res = await k.post('/routes', { type, body: { methods: ['GET'], protocols: ['foo', 'http'], service: { protocol: 'foo' } } });
        expect(res.status).toBe(400);
        expect(res.body).toEqual({
          code: 2,
          name: 'schema violation',
          message: `2 schema violations (protocols.1: ${PROTOCOL_LIST}; service.protocol: ${PROTOCOL_LIST})`,
          fields: { protocols: [PROTOCOL_LIST], service: { protocol: PROTOCOL_LIST } },
        });

        res = await k.post('/routes', { type, body: { methods: ['GET'], service: { name: 'non-existing' } } });
        expect(res.status).toBe(400);
        const unresolved = `the foreign key cannot be resolved with '{name="non-existing"}' for an existing 'services' entity`;
        expect(res.body).toEqual({ code: 13, name: 'foreign keys unresolved', message: `foreign key unresolved (service.name: ${unresolved})`, fields: { service: { name: unresolved } } });

        res = await k.post('/routes', { type, body: { methods: ['GET'], service: { name: type === FORM ? '' : null } } });
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ code: 2, name: 'schema violation', message: 'schema violation (service.id: missing primary key)', fields: { service: { id: 'missing primary key' } } });

        res = await k.post('/routes', { type, body: { methods: ['GET'], service: { protocol: 'http' } } });
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ code: 2, name: 'schema violation', message: 'schema violation (service.id: missing primary key)', fields: { service: { id: 'missing primary key' } } });
      });
    });
  });

  describe('GET', () => {
    describe('with data', () => {
      beforeAll(async () => {
        await k.truncate('routes');
        for (let i = 1; i <= 10; i++) await k.bp.routes({ paths: [`/route-${i}`] });
      });

      it(`${SPEC}: retrieves the first page`, async () => {
        const res = await k.get('/routes');
        expect(res.status).toBe(200);
        expect(res.body.data).toHaveLength(10);
      });

      it(`${SPEC}: paginates a set`, async () => {
        const pages: unknown[] = [];
        let offset: string | undefined;
        for (let i = 1; i <= 4; i++) {
          const res = await k.get('/routes', { query: offset ? { size: 3, offset } : { size: 3 } });
          expect(res.status).toBe(200);
          expect(res.body.data).toHaveLength(i < 4 ? 3 : 1);
          if (i > 1) expect(res.body).not.toEqual(pages[i - 2]);
          offset = res.body.offset;
          pages.push(res.body);
        }
      });
    });

    describe('with no data', () => {
      beforeAll(async () => {
        await k.truncate('routes');
      });
      it(`${SPEC}: data property is an empty array and not an empty hash`, async () => {
        const res = await k.get('/routes');
        expect(res.status).toBe(200);
        expect(res.text).toMatch(/"data":\[\]/);
        expect(res.body).toEqual({ data: [], next: null });
      });
    });

    describe('errors', () => {
      it(`${SPEC}: handles invalid filters`, async () => {
        await k.truncate('routes');
        const res = await k.get('/routes', { query: { foo: 'bar' } });
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ data: [], next: null });
      });

      it(`${SPEC}: handles invalid size`, async () => {
        let res = await k.get('/routes', { query: { size: 'x' } });
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ code: 9, name: 'invalid size', message: 'size must be a number' });
        res = await k.get('/routes', { query: { size: 'potato' } });
        expect(res.status).toBe(400);
        expect({ ...res.body, message: undefined }).toEqual({ code: 9, name: 'invalid size', message: undefined });
      });

      it(`${SPEC}: handles invalid offsets`, async () => {
        let res = await k.get('/routes', { query: { offset: 'x' } });
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ code: 7, name: 'invalid offset', message: "'x' is not a valid offset: bad base64 encoding" });
        res = await k.get('/routes', { query: { offset: '|potato|' } });
        expect(res.status).toBe(400);
        expect({ ...res.body, message: undefined }).toEqual({ code: 7, name: 'invalid offset', message: undefined });
      });

      it(`${SPEC}: ignores an invalid body`, async () => {
        const res = await k.send('GET', '/routes', { body: 'this fails if decoded as json' });
        expect(res.status).toBe(200);
      });
    });
  });

  it(`${SPEC}: returns HTTP 405 on invalid method`, async () => {
    for (const method of ['DELETE', 'PUT', 'PATCH']) {
      const res = await k.send(method, '/routes', { body: {} });
      expect(res.status).toBe(405);
      expect(res.body).toEqual({ message: 'Method not allowed' });
    }
  });
});

describe('/routes/{route}', () => {
  it(`${SPEC}: returns allow and CORS headers with OPTIONS method (/routes/{route})`, async () => {
    const res = await k.send('OPTIONS', '/routes/test');
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(res.headers.get('allow')).toBe('DELETE, GET, HEAD, OPTIONS, PATCH, PUT');
    expect(res.headers.get('access-control-allow-methods')).toBe('DELETE, GET, HEAD, OPTIONS, PATCH, PUT');
    expect(res.headers.get('access-control-allow-headers')).toBe('Content-Type');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('x-kong-admin-latency')).not.toBeNull();
  });

  describe('GET', () => {
    it(`${SPEC}: retrieves by id`, async () => {
      const route = await k.bp.routes({ paths: ['/my-route'] });
      const res = await k.get(`/routes/${route.id}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(route);
    });

    it(`${SPEC}: retrieves by name`, async () => {
      const route = await k.bp.named_routes();
      const res = await k.get(`/routes/${route.name}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(route);
    });

    it(`${SPEC}: retrieves by utf-8 name and percent-escaped utf-8 name`, async () => {
      const route = await k.bp.routes({ methods: ['GET'], name: '円' });
      let res = await k.get(`/routes/${encodeURI(route.name)}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(route);
      res = await k.get('/routes/%E5%86%86');
      expect(res.status).toBe(200);
      expect(res.body).toEqual(route);
    });

    it(`${SPEC}: returns 404 if not found`, async () => {
      expect((await k.get(`/routes/${randomUUID()}`)).status).toBe(404);
    });

    it(`${SPEC}: returns 404 if not found by name`, async () => {
      expect((await k.get('/routes/not-found')).status).toBe(404);
    });

    it(`${SPEC}: ignores an invalid body (/routes/{route})`, async () => {
      const route = await k.bp.routes({ paths: ['/my-route'] });
      expect((await k.get(`/routes/${route.id}`, { body: 'this fails if decoded as json' })).status).toBe(200);
    });

    it(`${SPEC}: ignores an invalid body by name`, async () => {
      const route = await k.bp.named_routes();
      expect((await k.get(`/routes/${route.name}`, { body: 'this fails if decoded as json' })).status).toBe(200);
    });
  });

  describe('PUT', () => {
    itContentTypes('creates if not found', (type) => async () => {
      const service = await k.bp.services();
      const id = randomUUID();
      const res = await k.put(`/routes/${id}`, { type, body: { paths: ['/updated-paths'], service } });
      expect(res.status).toBe(200);
      expect(res.body.paths).toEqual(['/updated-paths']);
      expect(res.body.hosts).toBeNull();
      expect(res.body.methods).toBeNull();
      expect(res.body.id).toBe(id);
      expect(await k.select('routes', id)).toEqual(res.body);
    });

    itContentTypes('creates without service if not found', (type) => async () => {
      const id = randomUUID();
      const res = await k.put(`/routes/${id}`, { type, body: { paths: ['/updated-paths'] } });
      expect(res.status).toBe(200);
      expect(res.body.service).toBeNull();
      expect(res.body.id).toBe(id);
      expect(await k.select('routes', id)).toEqual(res.body);
    });

    itContentTypes('creates if not found by name', (type) => async () => {
      await k.delete('/routes/my-route');
      const service = await k.bp.services();
      const res = await k.put('/routes/my-route', { type, body: { paths: ['/updated-paths'], service } });
      expect(res.status).toBe(200);
      expect(res.body.paths).toEqual(['/updated-paths']);
      expect(res.body.hosts).toBeNull();
      expect(res.body.name).toBe('my-route');
      expect(await k.select('routes', res.body.id)).toEqual(res.body);
    });

    itContentTypes('updates if found', (type) => async () => {
      const route = await k.bp.routes({ paths: ['/my-route'] });
      const res = await k.put(`/routes/${route.id}`, { type, body: { paths: ['/updated-paths'], service: route.service } });
      expect(res.status).toBe(200);
      expect(res.body.paths).toEqual(['/updated-paths']);
      expect(res.body.hosts).toBeNull();
      expect(res.body.id).toBe(route.id);
      expect(await k.select('routes', route.id)).toEqual(res.body);
    });

    itContentTypes('updates if found by name', (type) => async () => {
      const route = await k.bp.routes({ name: 'my-put-route', paths: ['/my-route'] });
      const res = await k.put('/routes/my-put-route', { type, body: { paths: ['/updated-paths'], service: route.service } });
      expect(res.status).toBe(200);
      expect(res.body.paths).toEqual(['/updated-paths']);
      expect(res.body.id).toBe(route.id);
      expect(res.body.name).toBe(route.name);
      expect(await k.select('routes', route.id)).toEqual(res.body);
      await k.delete(`/routes/${route.id}`);
    });

    itContentTypes('handles same parameter in url and params gracefully', (type) => async () => {
      const res = await k.put('/routes/my-put-route', { type, body: { routes: { test: [{ test: 'test' }] }, tags: 'test' } });
      expect(res.status).toBe(400);
    }, { multipart: true });

    describe('errors', () => {
      it(`${SPEC}: handles malformed JSON body (PUT)`, async () => {
        const route = await k.bp.routes({ paths: ['/my-route'] });
        const res = await k.put(`/routes/${route.id}`, { body: '{"hello": "world"' });
        expect(res.status).toBe(400);
        expect(res.text).toBe('{"message":"Cannot parse JSON body"}');
      });

      itContentTypes('handles invalid input (PUT)', (type) => async () => {
        let res = await k.put(`/routes/${randomUUID()}`, { type, body: {} });
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ code: 2, name: 'schema violation', message: `schema violation (${MUST_SET_HTTPS})`, fields: { '@entity': [MUST_SET_HTTPS] } });

        res = await k.put(`/routes/${randomUUID()}`, { type, body: { methods: ['GET'], protocols: ['foo', 'http'] } });
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ code: 2, name: 'schema violation', message: `schema violation (protocols.1: ${PROTOCOL_LIST})`, fields: { protocols: [PROTOCOL_LIST] } });

        const route = await k.bp.routes({ paths: ['/my-route'] });
        res = await k.put(`/routes/${route.id}`, { type, body: { service: route.service, paths: ['/'], regex_priority: 'foobar' } });
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ code: 2, name: 'schema violation', message: 'schema violation (regex_priority: expected an integer)', fields: { regex_priority: 'expected an integer' } });
      });

      itContentTypes('handles invalid input #grpc', (type) => async () => {
        let res = await k.post('/routes', { type, body: { protocols: ['grpc', 'grpcs'] } });
        expect(res.status).toBe(400);
        const must = "must set one of 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'grpcs'";
        expect(res.body).toEqual({ code: 2, name: 'schema violation', message: `schema violation (${must})`, fields: { '@entity': [must] } });

        res = await k.post('/routes', { type, body: { protocols: ['grpc', 'grpcs'], paths: ['/'], strip_path: true } });
        expect(res.status).toBe(400);
        const strip = "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'";
        expect(res.body).toEqual({ code: 2, name: 'schema violation', message: `schema violation (strip_path: ${strip})`, fields: { strip_path: strip } });

        res = await k.post('/routes', { type, body: { protocols: ['grpc', 'grpcs'], paths: ['/'], methods: ['GET'] } });
        expect(res.status).toBe(400);
        const methods = "cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'";
        expect(res.body).toEqual({ code: 2, name: 'schema violation', message: `schema violation (methods: ${methods})`, fields: { methods } });
      });
    });
  });

  describe('PATCH', () => {
    itContentTypes('updates if found (PATCH)', (type) => async () => {
      const route = await k.bp.routes({ paths: ['/my-route'] });
      const res = await k.patch(`/routes/${route.id}`, { type, body: { methods: null, hosts: null, paths: ['/updated-paths'] } });
      expect(res.status).toBe(200);
      expect(res.body.paths).toEqual(['/updated-paths']);
      expect(res.body.hosts).toBeNull();
      expect(res.body.methods).toBeNull();
      expect(res.body.id).toBe(route.id);
      expect(await k.select('routes', route.id)).toEqual(res.body);
    });

    itContentTypes('updates if found by name (PATCH)', (type) => async () => {
      const route = await k.bp.routes({ name: 'my-patch-route', paths: ['/my-route'] });
      const res = await k.patch('/routes/my-patch-route', { type, body: { methods: null, hosts: null, paths: ['/updated-paths'] } });
      expect(res.status).toBe(200);
      expect(res.body.paths).toEqual(['/updated-paths']);
      expect(res.body.id).toBe(route.id);
      expect(await k.select('routes', route.id)).toEqual(res.body);
      await k.delete(`/routes/${route.id}`);
    });

    itContentTypes('updates strip_path if not previously set', (type) => async () => {
      const route = await k.bp.routes({ paths: ['/my-route'] });
      const res = await k.patch(`/routes/${route.id}`, { type, body: { strip_path: true } });
      expect(res.status).toBe(200);
      expect(res.body.strip_path).toBe(true);
      expect(res.body.id).toBe(route.id);
      expect(await k.select('routes', route.id)).toEqual(res.body);
    }, { multipart: true });

    itContentTypes('updates multiple fields at once', (type) => async () => {
      const route = await k.bp.routes({ paths: ['/my-route'] });
      const res = await k.patch(`/routes/${route.id}`, { type, body: { methods: null, paths: ['/my-updated-path'], hosts: ['my-updated.tld'] } });
      expect(res.status).toBe(200);
      expect(res.body.paths).toEqual(['/my-updated-path']);
      expect(res.body.hosts).toEqual(['my-updated.tld']);
      expect(res.body.methods).toBeNull();
      expect(await k.select('routes', route.id)).toEqual(res.body);
    });

    it(`${SPEC}: with application/json removes optional field with ngx.null`, async () => {
      const route = await k.bp.routes({ paths: ['/my-route'] });
      const res = await k.patch(`/routes/${route.id}`, { body: { methods: null, paths: null, hosts: ['my-updated.tld'] } });
      expect(res.status).toBe(200);
      expect(res.body.paths).toBeNull();
      expect(res.body.hosts).toEqual(['my-updated.tld']);
      expect(res.body.methods).toBeNull();
      expect(await k.select('routes', route.id)).toEqual(res.body);
    });

    it(`${SPEC}: allows updating sets and arrays with en empty array`, async () => {
      const route = await k.bp.routes({ paths: ['/my-route'] });
      const res = await k.patch(`/routes/${route.id}`, { body: { methods: [], paths: [], hosts: ['my-updated.tld'] } });
      expect(res.status).toBe(200);
      expect(res.text).toMatch(/"methods":\[\]/);
      expect(res.text).toMatch(/"paths":\[\]/);
      expect(res.body.hosts).toEqual(['my-updated.tld']);
      expect(res.body.id).toBe(route.id);
    });

    itContentTypes('removes service association', (type) => async () => {
      const route = await k.bp.routes({ name: 'my-patch-route', paths: ['/my-route'] });
      const res = await k.patch('/routes/my-patch-route', { type, body: { methods: null, hosts: null, service: null, paths: ['/updated-paths'] } });
      expect(res.status).toBe(200);
      expect(res.body.paths).toEqual(['/updated-paths']);
      expect(res.body.service).toBeNull();
      expect(res.body.id).toBe(route.id);
      expect(await k.select('routes', route.id)).toEqual(res.body);
      await k.delete(`/routes/${route.id}`);
    });

    itContentTypes('returns 404 if not found (PATCH)', (type) => async () => {
      const res = await k.patch(`/routes/${randomUUID()}`, { type, body: { methods: null, hosts: null, paths: ['/my-updated-path'] } });
      expect(res.status).toBe(404);
    });

    itContentTypes('handles invalid input (PATCH)', (type) => async () => {
      const route = await k.bp.routes({ paths: ['/my-route'] });
      const res = await k.patch(`/routes/${route.id}`, { type, body: { regex_priority: 'foobar' } });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ code: 2, name: 'schema violation', message: 'schema violation (regex_priority: expected an integer)', fields: { regex_priority: 'expected an integer' } });
    }, { multipart: true });
  });

  describe('DELETE', () => {
    it(`${SPEC}: deletes a route`, async () => {
      const route = await k.bp.routes({ paths: ['/my-route'] });
      const res = await k.delete(`/routes/${route.id}`);
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expect(await k.select('routes', route.id)).toBeNull();
    });

    it(`${SPEC}: deletes a route by name`, async () => {
      const route = await k.bp.routes({ name: 'my-delete-route', paths: ['/my-route'] });
      const res = await k.delete('/routes/my-delete-route');
      expect(res.status).toBe(204);
      expect(await k.select('routes', route.id)).toBeNull();
    });

    it(`${SPEC}: returns HTTP 204 even if not found`, async () => {
      expect((await k.delete(`/routes/${randomUUID()}`)).status).toBe(204);
    });
  });
});

describe('/routes/{route}/service', () => {
  describe('GET', () => {
    it(`${SPEC}: retrieves by id (/service)`, async () => {
      const service = await k.bp.services({ host: 'example.com', path: '/' });
      const route = await k.bp.routes({ paths: ['/my-route'], service });
      const res = await k.get(`/routes/${route.id}/service`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(service);
    });

    it(`${SPEC}: retrieves by name (/service)`, async () => {
      const service = await k.bp.services({ host: 'example.com', path: '/' });
      const route = await k.bp.routes({ name: 'my-get-route', paths: ['/my-route'], service });
      const res = await k.get('/routes/my-get-route/service');
      expect(res.status).toBe(200);
      expect(res.body).toEqual(service);
      await k.delete(`/routes/${route.id}`);
    });

    it(`${SPEC}: returns 404 if not found (/service)`, async () => {
      expect((await k.get(`/routes/${randomUUID()}/service`)).status).toBe(404);
    });

    it(`${SPEC}: returns 404 if not found by name (/service)`, async () => {
      expect((await k.get('/routes/my-in-existent-route/service')).status).toBe(404);
    });

    it(`${SPEC}: ignores an invalid body (/service)`, async () => {
      const route = await k.bp.routes({ paths: ['/my-route'] });
      expect((await k.get(`/routes/${route.id}/service`, { body: 'this fails if decoded as json' })).status).toBe(200);
    });
  });

  for (const method of ['PATCH', 'PUT'] as const) {
    describe(method, () => {
      itContentTypes(`updates if found (${method} /service)`, (type) => async () => {
        const service = await k.bp.named_services({ path: '/' });
        const route = await k.bp.routes({ paths: ['/my-route'], service });
        const res = await k.send(method, `/routes/${route.id}/service`, { type, body: { name: `name-${service.name}`, host: `edited-${service.host}`, path: null } });
        expect(res.status).toBe(200);
        expect(res.body.name).toBe(`name-${service.name}`);
        expect(res.body.host).toBe(`edited-${service.host}`);
        expect(res.body.path).toBeNull();
        expect(await k.select('services', service.id)).toEqual(res.body);
      });

      itContentTypes(`updates if found by name (${method} /service)`, (type) => async () => {
        const service = await k.bp.named_services({ path: '/' });
        const route = await k.bp.routes({ name: 'my-service-patch-route', paths: ['/my-route'], service });
        const res = await k.send(method, '/routes/my-service-patch-route/service', { type, body: { name: `name-${service.name}`, host: `edited-${service.host}`, path: null } });
        expect(res.status).toBe(200);
        expect(res.body.name).toBe(`name-${service.name}`);
        expect(res.body.path).toBeNull();
        expect(await k.select('services', service.id)).toEqual(res.body);
        await k.delete(`/routes/${route.id}`);
        await k.delete(`/services/${service.id}`);
      });

      itContentTypes(`updates with url (${method} /service)`, (type) => async () => {
        const service = await k.bp.services({ host: 'example.com', path: '/' });
        const route = await k.bp.routes({ paths: ['/my-route'], service });
        const res = await k.send(method, `/routes/${route.id}/service`, { type, body: { url: 'http://edited2.test:1234/foo' } });
        expect(res.status).toBe(200);
        expect(res.body.host).toBe('edited2.test');
        expect(res.body.port).toBe(1234);
        expect(res.body.path).toBe('/foo');
        expect(await k.select('services', service.id)).toEqual(res.body);
      }, { multipart: true });

      itContentTypes(`returns 404 if not found (${method} /service)`, (type) => async () => {
        const res = await k.send(method, `/routes/${randomUUID()}/service`, { type, body: { name: 'edited', host: 'edited.test', path: null } });
        expect(res.status).toBe(404);
      }, { multipart: true });

      itContentTypes(`handles invalid input (${method} /service)`, (type) => async () => {
        const service = await k.bp.services({ host: 'example.com', path: '/' });
        const route = await k.bp.routes({ paths: ['/my-route'], service });
        const res = await k.send(method, `/routes/${route.id}/service`, { type, body: { connect_timeout: 'foobar' } });
        expect(res.status).toBe(400);
        if (method === 'PATCH') {
          expect(res.body).toEqual({ code: 2, name: 'schema violation', message: 'schema violation (connect_timeout: expected an integer)', fields: { connect_timeout: 'expected an integer' } });
        } else {
          expect(res.body).toEqual({
            code: 2,
            name: 'schema violation',
            message: '2 schema violations (connect_timeout: expected an integer; host: required field missing)',
            fields: { connect_timeout: 'expected an integer', host: 'required field missing' },
          });
        }
      }, { multipart: true });
    });
  }

  itContentTypes('creates if not found (PUT /service)', (type) => async () => {
    const route = await k.bp.routes({ paths: ['/my-route'] });
    const res = await k.put(`/routes/${route.id}/service`, { type, body: { url: 'http://konghq.test' } });
    expect(res.status).toBe(200);
    expect(res.body.host).toBe('konghq.test');
    expect(await k.select('services', res.body.id)).toEqual(res.body);
  });

  describe('DELETE', () => {
    it(`${SPEC}: returns HTTP 405 when trying to delete a service that is referenced`, async () => {
      const route = await k.bp.routes({ paths: ['/my-route'] });
      const res = await k.delete(`/routes/${route.id}/service`);
      expect(res.status).toBe(405);
      expect(res.body).toEqual({ message: 'Method not allowed' });
    });

    it(`${SPEC}: returns HTTP 404 with non-existing route`, async () => {
      expect((await k.delete(`/routes/${randomUUID()}/service`)).status).toBe(404);
    });

    it(`${SPEC}: returns HTTP 404 with non-existing route by name`, async () => {
      expect((await k.delete('/routes/in-existent-route/service')).status).toBe(404);
    });
  });
});

describe('/routes/{route}/plugins', () => {
  itContentTypes('creates a plugin config on a Route', (type) => async () => {
    const route = await k.bp.routes({ paths: ['/my-route'] });
    const body = type === FORM ? 'name=key-auth&config.key_names%5B1%5D=apikey&config.key_names%5B2%5D=key' : { name: 'key-auth', config: { key_names: ['apikey', 'key'] } };
    const res = await k.post(`/routes/${route.id}/plugins`, { type, body });
    expect(res.status).toBe(201);
    expect(res.body.name).toBe('key-auth');
    expect(res.body.config.key_names).toEqual(['apikey', 'key']);
  });

  itContentTypes('handles invalid input (plugins)', (type) => async () => {
    const route = await k.bp.routes({ paths: ['/my-route'] });
    // Kong's client sends `{}` as an empty body in either type.
    const res = await k.post(`/routes/${route.id}/plugins`, { type, body: type === FORM ? '' : type === MULTIPART ? {} : '{}' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ code: 2, fields: { name: 'required field missing' }, message: 'schema violation (name: required field missing)', name: 'schema violation' });
  }, { multipart: true });

  itContentTypes('returns 409 on conflict (same plugin name)', (type) => async () => {
    const route = await k.bp.routes({ paths: ['/my-route'] });
    let res = await k.post(`/routes/${route.id}/plugins`, { type, body: { name: 'basic-auth' } });
    expect(res.status).toBe(201);
    res = await k.post(`/routes/${route.id}/plugins`, { type, body: { name: 'basic-auth' } });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({
      code: 5,
      fields: { consumer: null, name: 'basic-auth', route: { id: route.id }, service: null },
      message: `UNIQUE violation detected on '{consumer=null,name="basic-auth",route={id="${route.id}"},service=null}'`,
      name: 'unique constraint violation',
    });
  }, { multipart: true });

  it(`${SPEC}: retrieves the first page (plugins)`, async () => {
    const route = await k.bp.routes({ paths: ['/my-route'] });
    await k.bp.plugins({ name: 'key-auth', route: { id: route.id } });
    const res = await k.get(`/routes/${route.id}/plugins`);
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(1);
  });

  it(`${SPEC}: retrieves the first page by name`, async () => {
    const route = await k.bp.routes({ name: 'my-plugins-route', paths: ['/my-route'] });
    await k.bp.plugins({ name: 'key-auth', route: { id: route.id } });
    const res = await k.get('/routes/my-plugins-route/plugins');
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(1);
    await k.delete(`/routes/${route.id}`);
  });

  it(`${SPEC}: ignores an invalid body (plugins)`, async () => {
    const route = await k.bp.routes({ paths: ['/my-route'] });
    expect((await k.get(`/routes/${route.id}/plugins`, { body: 'this fails if decoded as json' })).status).toBe(200);
  });

  it(`${SPEC}: retrieves a plugin by id`, async () => {
    const service = await k.bp.services();
    const route = await k.bp.routes({ service: { id: service.id }, hosts: ['example.test'] });
    const plugin = await k.bp.plugins({ name: 'key-auth', route: { id: route.id } });
    const res = await k.get(`/routes/${route.id}/plugins/${plugin.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(await k.select('plugins', plugin.id));
  });

  it(`${SPEC}: retrieves a plugin by instance_name`, async () => {
    const service = await k.bp.services();
    const route = await k.bp.routes({ service: { id: service.id }, hosts: ['example.test'] });
    const plugin = await k.bp.plugins({ name: 'key-auth', instance_name: `name-${randomUUID()}`, route: { id: route.id } });
    const res = await k.get(`/routes/${route.id}/plugins/${plugin.instance_name}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(await k.select('plugins', plugin.id));
  });

  it(`${SPEC}: deletes a plugin by id`, async () => {
    const route = await k.bp.routes({ paths: [`/route-${randomUUID()}`] });
    const plugin = await k.bp.plugins({ name: 'key-auth', route: { id: route.id } });
    expect((await k.delete(`/routes/${route.id}/plugins/${plugin.id}`)).status).toBe(204);
    expect(await k.select('plugins', plugin.id)).toBeNull();
  });

  it(`${SPEC}: deletes a plugin by instance_name`, async () => {
    const route = await k.bp.routes({ paths: [`/route-${randomUUID()}`] });
    const plugin = await k.bp.plugins({ name: 'key-auth', instance_name: `name-${randomUUID()}`, route: { id: route.id } });
    expect((await k.delete(`/routes/${route.id}/plugins/${plugin.instance_name}`)).status).toBe(204);
    expect(await k.select('plugins', plugin.id)).toBeNull();
  });
});
