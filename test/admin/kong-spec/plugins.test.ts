// Kong/kong spec/02-integration/04-admin_api/04-plugins_routes_spec.lua, one `it` per Kong `it`.
// Kong's cases under /plugins share the plugins its lazy_setup made and run in order; so do these.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { startKongSpecAdmin, type KongSpecAdmin } from './harness.ts';
import { availablePlugins } from '../../../src/plugins/registry.ts';

const SPEC = '04-plugins_routes_spec.lua';
let k: KongSpecAdmin;
beforeAll(async () => {
  k = await startKongSpecAdmin('kplugins');
});
afterAll(async () => {
  await k?.close();
});

it(`${SPEC}: returns a list of enabled plugins on this node`, async () => {
  const res = await k.get('/plugins/enabled');
  expect(res.status).toBe(200);
  expect(Array.isArray(res.body.enabled_plugins)).toBe(true);
  expect(res.body.enabled_plugins.length).toBeGreaterThan(0);
});

describe('/plugins', () => {
  const services: Record<string, any>[] = [];
  const plugins: Record<string, any>[] = [];
  beforeAll(async () => {
    for (let i = 1; i <= 3; i++) {
      const service = await k.bp.services({ name: `service-${i}`, protocol: 'http', host: '127.0.0.1', port: 15555 });
      await k.bp.routes({ service: { id: service.id }, hosts: [`route_${i}.test`] });
      services.push(service);
      plugins.push(await k.bp.plugins({ name: 'key-auth', instance_name: `key-auth-${i}`, service: { id: service.id }, config: { key_names: ['testkey'] } }));
    }
    const service = await k.bp.services({ name: 'service-4', protocol: 'http', host: '127.0.0.1', port: 15555 });
    services.push(service);
    plugins.push(await k.bp.plugins({ name: 'key-auth', instance_name: '円', service: { id: service.id }, config: { key_names: ['testkey'] } }));
  });

  it(`${SPEC}: retrieves all plugins configured`, async () => {
    const res = await k.get('/plugins');
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(4);
  });

  it(`${SPEC}: returns 405 on invalid method`, async () => {
    for (const method of ['DELETE', 'PATCH']) {
      const res = await k.send(method, '/plugins', { body: {} });
      expect(res.status).toBe(405);
      expect(res.body).toEqual({ message: 'Method not allowed' });
    }
  });

  it(`${SPEC}: retrieves a plugin by id`, async () => {
    const res = await k.get(`/plugins/${plugins[0]!.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(plugins[0]);
  });

  it(`${SPEC}: retrieves a plugin by instance_name`, async () => {
    const res = await k.get(`/plugins/${plugins[0]!.instance_name}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(plugins[0]);
  });

  it(`${SPEC}: returns 404 if not found`, async () => {
    expect((await k.get('/plugins/f4aecadc-05c7-11e6-8d41-1f3b3d5fa15c')).status).toBe(404);
  });

  it(`${SPEC}: returns 404 if not found by instance_name`, async () => {
    expect((await k.get('/plugins/not-found')).status).toBe(404);
  });

  it(`${SPEC}: retrieves by utf-8 name and percent-escaped utf-8 name`, async () => {
    let res = await k.get(`/plugins/${encodeURI(plugins[3]!.instance_name)}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(plugins[3]);
    res = await k.get('/plugins/%E5%86%86');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(plugins[3]);
  });

  it(`${SPEC}: can create a plugin`, async () => {
    const service = await k.bp.services();
    await k.bp.routes({ paths: ['/mypath'], service: { id: service.id } });
    const res = await k.put(`/plugins/${randomUUID()}`, { body: { name: 'key-auth', service: { id: service.id } } });
    expect(res.status).toBe(200);
  });

  it(`${SPEC}: can create a plugin by instance_name`, async () => {
    const service = await k.bp.services();
    const instance_name = `name-${randomUUID()}`;
    const res = await k.put(`/plugins/${instance_name}`, { body: { name: 'key-auth', service: { id: service.id } } });
    expect(res.status).toBe(200);
    expect(res.body.instance_name).toBe(instance_name);
  });

  it(`${SPEC}: can upsert a plugin by instance_name`, async () => {
    const service = await k.bp.services();
    const instance_name = `name-${randomUUID()}`;
    let res = await k.put(`/plugins/${instance_name}`, { body: { name: 'key-auth', service: { id: service.id }, config: { key_names: ['testkey'] } } });
    expect(res.status).toBe(200);
    const id = res.body.id;
    res = await k.put(`/plugins/${instance_name}`, { body: { name: 'key-auth', service: { id: service.id }, config: { key_names: ['testkey2'] } } });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(id);
    expect(res.body.config.key_names[0]).toBe('testkey2');
  });

  it(`${SPEC}: updates a plugin`, async () => {
    const res = await k.patch(`/plugins/${plugins[0]!.id}`, { body: { enabled: false } });
    expect(res.status).toBe(200);
    expect(res.body.enabled).toBe(false);
    expect(await k.select('plugins', plugins[0]!.id)).toEqual(res.body);
  });

  it(`${SPEC}: updates a plugin by instance_name`, async () => {
    const res = await k.patch(`/plugins/${plugins[1]!.instance_name}`, { body: { enabled: false } });
    expect(res.status).toBe(200);
    expect(res.body.enabled).toBe(false);
    expect(await k.select('plugins', plugins[1]!.id)).toEqual(res.body);
  });

  it(`${SPEC}: updates a plugin bis`, async () => {
    const plugin = { ...(await k.select('plugins', plugins[1]!.id))! };
    plugin.enabled = !plugin.enabled;
    delete plugin.created_at;
    delete plugin.updated_at;
    const res = await k.patch(`/plugins/${plugin.id}`, { body: plugin });
    expect(res.status).toBe(200);
    expect(res.body.enabled).toBe(plugin.enabled);
  });

  it(`${SPEC}: updates a plugin (removing foreign key reference)`, async () => {
    expect(plugins[1]!.service.id).toBe(services[1]!.id);
    const res = await k.patch(`/plugins/${plugins[1]!.id}`, { body: { service: null } });
    expect(res.status).toBe(200);
    expect(res.body.service).toBeNull();
    expect(await k.select('plugins', plugins[1]!.id)).toEqual(res.body);
  });

  it(`${SPEC}: does not infer json input`, async () => {
    expect((await k.patch(`/plugins/${plugins[1]!.id}`, { body: { tags: null } })).status).toBe(200);
  });

  it(`${SPEC}: handles invalid input`, async () => {
    const before = await k.select('plugins', plugins[0]!.id);
    const res = await k.patch(`/plugins/${plugins[0]!.id}`, { body: { foo: 'bar' } });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ message: 'schema violation (foo: unknown field)', name: 'schema violation', fields: { foo: 'unknown field' }, code: 2 });
    const after = await k.select('plugins', plugins[0]!.id);
    expect(after).toEqual(before);
    expect((after!.config as { key_names: string[] }).key_names).toEqual(['testkey']);
  });

  it(`${SPEC}: handles invalid config, see #9224`, async () => {
    const before = await k.select('plugins', plugins[0]!.id);
    const res = await k.patch(`/plugins/${plugins[0]!.id}`, { body: { config: 'bar' } });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ message: 'schema violation (config: expected a record)', name: 'schema violation', fields: { config: 'expected a record' }, code: 2 });
    expect(await k.select('plugins', plugins[0]!.id)).toEqual(before);
  });

  it(`${SPEC}: returns 404 if not found (PATCH)`, async () => {
    expect((await k.patch('/plugins/f4aecadc-05c7-11e6-8d41-1f3b3d5fa15c', { body: { enabled: false } })).status).toBe(404);
  });

  it(`${SPEC}: deletes by id`, async () => {
    expect((await k.delete(`/plugins/${plugins[2]!.id}`)).status).toBe(204);
  });

  it(`${SPEC}: deletes by instance_name`, async () => {
    const res = await k.delete(`/plugins/${encodeURI(plugins[3]!.instance_name)}`);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect((await k.get(`/plugins/${encodeURI(plugins[3]!.instance_name)}`)).status).toBe(404);
  });

  it(`${SPEC}: returns 204 if not found`, async () => {
    expect((await k.delete('/plugins/f4aecadc-05c7-11e6-8d41-1f3b3d5fa15c')).status).toBe(204);
  });

  it(`${SPEC}: returns 204 if not found by instance_name`, async () => {
    expect((await k.delete('/plugins/not-found')).status).toBe(204);
  });
});

describe('/schemas/plugins/{plugin}', () => {
  it(`${SPEC}: returns the schema of all bundled plugins`, async () => {
    for (const plugin of availablePlugins()) {
      const res = await k.get(`/schemas/plugins/${plugin}`);
      expect(res.status, plugin).toBe(200);
      expect(Array.isArray(res.body.fields), plugin).toBe(true);
      expect(Array.isArray(res.body.entity_checks), plugin).toBe(true);
    }
  });

  it(`${SPEC}: returns nested records and empty array defaults as arrays`, async () => {
    const res = await k.get('/schemas/plugins/request-transformer');
    expect(res.status).toBe(200);
    expect(res.text).not.toContain('"entity_checks":{');
    expect(res.text).not.toContain('"fields":{');
    expect(res.text).toContain('"default":[]');
    expect(res.text).not.toContain('"default":{}');
  });

  it(`${SPEC}: returns 404 on invalid plugin`, async () => {
    const res = await k.get('/schemas/plugins/foobar');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ message: "No plugin named 'foobar'" });
  });
});
