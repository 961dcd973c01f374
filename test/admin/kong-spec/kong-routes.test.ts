// Kong/kong spec/02-integration/04-admin_api/02-kong_routes_spec.lua (database strategy), one
// `it` per Kong `it`. Where Gossamer's identity differs on purpose (tagline, Server token) or
// Kong's answer names nginx internals (lua_shared_dicts), docs/kong-compatibility.md says so
// and the case checks the rest of Kong's shape.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKongSpecAdmin, type KongSpecAdmin } from './harness.ts';
import { entities } from '../../../src/entities/index.ts';
import { availablePlugins } from '../../../src/plugins/registry.ts';

const SPEC = '02-kong_routes_spec.lua';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MEM = /^\d+\.\d+ MiB$/;
let k: KongSpecAdmin;
beforeAll(async () => {
  k = await startKongSpecAdmin('kkong');
});
afterAll(async () => {
  await k?.close();
});

describe('/', () => {
  it(`${SPEC}: returns headers with HEAD method`, async () => {
    const res1 = await k.get('/');
    expect(res1.status).toBe(200);
    expect(res1.text).not.toBe('');
    const res2 = await k.send('HEAD', '/');
    expect(res2.status).toBe(200);
    expect(res2.text).toBe('');
    const strip = (h: Headers) => Object.fromEntries([...h].filter(([n]) => n !== 'date' && n !== 'x-kong-admin-latency'));
    expect(strip(res2.headers)).toEqual(strip(res1.headers));
  });

  it(`${SPEC}: returns allow and CORS headers with OPTIONS method`, async () => {
    const res = await k.send('OPTIONS', '/');
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(res.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    expect(res.headers.get('access-control-allow-methods')).toBe('GET, HEAD, OPTIONS');
    expect(res.headers.get('access-control-allow-headers')).toBe('Content-Type');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('x-kong-admin-latency')).not.toBeNull();
  });

  it(`${SPEC}: returns Kong's version number, edition info and tagline`, async () => {
    const res = await k.get('/');
    expect(res.status).toBe(200);
    expect(res.body.version).toBe('0.1.0');
    expect(res.body.edition).toBe('community');
    expect(res.body.tagline).toBe('Welcome to gossamer');
  });

  it(`${SPEC}: returns a UUID as the node_id`, async () => {
    expect((await k.get('/')).body.node_id).toMatch(UUID);
  });

  it(`${SPEC}: response has the correct Server header`, async () => {
    const res = await k.get('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('server')).toBe('gossamer/0.1.0');
    expect(res.headers.get('via')).toBeNull();
  });

  it(`${SPEC}: returns 405 on invalid method`, async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'GEEEET']) {
      const res = await k.send(method, '/', { body: {} });
      expect(res.status, method).toBe(405);
      expect(res.body).toEqual({ message: 'Method not allowed' });
    }
  });

  it(`${SPEC}: exposes the node's configuration`, async () => {
    expect(typeof (await k.get('/')).body.configuration).toBe('object');
  });

  it(`${SPEC}: enabled_in_cluster property is an array`, async () => {
    expect((await k.get('/')).text).toContain('"enabled_in_cluster":[]');
  });

  it(`${SPEC}: obfuscates sensitive settings from the configuration`, async () => {
    const json = (await k.get('/')).body;
    expect(typeof json.configuration.pg_password).toBe('string');
    expect(json.configuration.pg_password).not.toBe('hide_me');
  });

  it(`${SPEC}: returns process ids`, async () => {
    const json = (await k.get('/')).body;
    expect(String(json.pids.master)).toMatch(/\d+/);
    for (const w of json.pids.workers) expect(String(w)).toMatch(/\d+/);
  });

  it(`${SPEC}: does not return PRNG seeds`, async () => {
    expect((await k.get('/')).body.prng_seeds).toBeUndefined();
  });
});

it(`${SPEC}: only returns base, plugin, and custom-plugin endpoints`, async () => {
  const res = await k.get('/endpoints');
  expect(res.status).toBe(200);
  expect(res.body.data).toContain('/plugins');
  expect(res.body.data).toContain('/basic-auths/{basicauth_credentials}');
});

describe('/status', () => {
  it(`${SPEC}: returns status info`, async () => {
    const json = (await k.get('/status')).body;
    for (const f of ['connections_accepted', 'connections_active', 'connections_handled', 'connections_reading', 'connections_writing', 'connections_waiting', 'total_requests']) {
      expect(typeof json.server[f], f).toBe('number');
    }
    expect(json.configuration_hash).toBeUndefined();
    expect(typeof json.database.reachable).toBe('boolean');
  });

  it(`${SPEC}: database.reachable is \`true\` when DB connection is healthy`, async () => {
    expect((await k.get('/status')).body.database.reachable).toBe(true);
  });

  it(`${SPEC}: returns workers Lua VM allocated memory`, async () => {
    const json = (await k.get('/status')).body;
    for (const w of json.memory.workers_lua_vms) {
      expect(w.http_allocated_gc).toMatch(MEM);
      expect(typeof w.pid).toBe('number');
    }
  });

  it(`${SPEC}: accepts a 'unit' querystring argument`, async () => {
    const json = (await k.get('/status?unit=k')).body;
    expect(json.memory.workers_lua_vms[0].http_allocated_gc).toMatch(/^\d+\.\d+ KiB$/);
  });

  it(`${SPEC}: when unit is bytes, returned properties are numbers`, async () => {
    const json = (await k.get('/status?unit=b')).body;
    expect(typeof json.memory.workers_lua_vms[0].http_allocated_gc).toBe('number');
  });

  it(`${SPEC}: accepts a 'scale' querystring argument`, async () => {
    const json = (await k.get('/status?scale=3')).body;
    expect(json.memory.workers_lua_vms[0].http_allocated_gc).toMatch(/^\d+\.\d{3} MiB$/);
  });

  it(`${SPEC}: returns HTTP 400 on invalid 'unit' querystring parameter`, async () => {
    const res = await k.get('/status?unit=V');
    expect(res.status).toBe(400);
    expect(res.body.message).toBe("invalid unit 'V' (expected 'k/K', 'm/M', or 'g/G')");
  });
});

describe('/schemas/:entity', () => {
  it(`${SPEC}: returns the schema of all DB entities`, async () => {
    for (const name of Object.keys(entities)) {
      const res = await k.get(`/schemas/${name}`);
      expect(res.status, name).toBe(200);
      expect(Array.isArray(res.body.fields), name).toBe(true);
      expect(Array.isArray(res.body.entity_checks), name).toBe(true);
    }
  });

  it(`${SPEC}: returns 404 on a missing entity`, async () => {
    const res = await k.get('/schemas/not-present');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ message: "No entity named 'not-present'" });
  });

  it(`${SPEC}: does not return schema of a foreign key`, async () => {
    const res = await k.get('/schemas/routes');
    expect(res.status).toBe(200);
    const service = (res.body.fields as Record<string, any>[]).find((f) => Object.keys(f)[0] === 'service');
    expect(service).toBeDefined();
    expect(service!.service.schema).toBeUndefined();
  });

  it(`${SPEC}: returns schema of all plugins`, async () => {
    for (const plugin of availablePlugins()) {
      const res = await k.get(`/schemas/plugins/${plugin}`);
      expect(res.status, plugin).toBe(200);
      expect(Array.isArray(res.body.fields), plugin).toBe(true);
    }
  });

  it(`${SPEC}: returns 404 on a non-existent plugin`, async () => {
    const res = await k.get('/schemas/plugins/not-present');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ message: "No plugin named 'not-present'" });
  });
});

describe('/schemas/:db_entity_name/validate', () => {
  it(`${SPEC}: returns 200 on a valid schema`, async () => {
    const res = await k.post('/schemas/services/validate', { body: { host: 'example.com' } });
    expect(res.status).toBe(200);
    expect(res.body.message).toBe('schema validation successful');
  });

  it(`${SPEC}: returns 200 on a valid plugin schema`, async () => {
    const res = await k.post('/schemas/plugins/validate', { body: { name: 'key-auth', config: { key_names: ['foo', 'bar'], hide_credentials: true } } });
    expect(res.status).toBe(200);
    expect(res.body.message).toBe('schema validation successful');
  });

  it(`${SPEC}: returns 400 on an invalid plugin subschema`, async () => {
    const res = await k.post('/schemas/plugins/validate', { body: { name: 'key-auth', config: { keys: 'foo' } } });
    expect(res.status).toBe(400);
    expect(res.body.name).toBe('schema violation');
  });
});

describe('/non-existing', () => {
  it(`${SPEC}: returns 404 with HEAD`, async () => {
    const res = await k.send('HEAD', '/non-existing');
    expect(res.status).toBe(404);
    expect(res.text).toBe('');
  });
  for (const method of ['OPTIONS', 'GET', 'POST', 'PUT', 'DELETE']) {
    it(`${SPEC}: returns 404 with ${method}`, async () => {
      const res = await k.send(method, '/non-existing');
      expect(res.status).toBe(404);
      expect(res.body.message).toBe('Not found');
    });
  }
});

it(`${SPEC}: returns node-id set in configuration`, async () => {
  // The Admin API reports the id the node was started with (node_id, or the one in its prefix).
  expect((await k.get('/')).body.node_id).toBe(k.nodeId);
});
