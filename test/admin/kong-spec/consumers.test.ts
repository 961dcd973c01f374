// Kong/kong spec/02-integration/04-admin_api/03-consumers_routes_spec.lua, one `it` per Kong `it`.
// Kong's spec loads its fixture plugin `rewriter` (spec/fixtures/custom_plugins); this file
// registers the same schema.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { FORM, contentTypes, startKongSpecAdmin, type KongSpecAdmin } from './harness.ts';
import { plugins } from '../../../src/plugins/registry.ts';

plugins['rewriter'] = {
  name: 'rewriter',
  priority: 1000,
  schema: z.strictObject({ value: z.string().optional(), extra: z.string().default('extra') }) as never,
  handler: async () => ({}),
};

const SPEC = '03-consumers_routes_spec.lua';
let k: KongSpecAdmin;
beforeAll(async () => {
  k = await startKongSpecAdmin('kconsumers');
});
afterAll(async () => {
  await k?.close();
});
const itContentTypes = (title: string, fn: (type: string) => () => Promise<void>) => contentTypes(SPEC, it)(title, fn, { multipart: true });
let sym = 0;
/** Kong's gensym: a name with a space, for the form-encoding cases. */
const gensym = () => `abc def ${++sym}`;
const rewriter = (consumer: Record<string, any>) => k.bp.plugins({ name: 'rewriter', consumer: { id: consumer.id } });
const AT_LEAST_ONE = "at least one of these fields must be non-empty: 'custom_id', 'username'";
const raw = (method: string, path: string, body: string | undefined, type?: string) => k.send(method, path, { body, type, rawType: type === undefined });

describe('/consumers POST', () => {
  itContentTypes('creates a Consumer', (type) => async () => {
    const username = gensym();
    const res = await k.post('/consumers', { type, body: { username } });
    expect(res.status).toBe(201);
    expect(res.body.username).toBe(username);
    expect(typeof res.body.created_at).toBe('number');
    expect(typeof res.body.id).toBe('string');
  });

  itContentTypes('handles invalid input', (type) => async () => {
    const res = await k.post('/consumers', { type, body: {} });
    expect(res.status).toBe(400);
    expect(res.body.name).toBe('schema violation');
    expect(res.body.fields['@entity']).toEqual([AT_LEAST_ONE]);
  });

  itContentTypes('returns 409 on conflicting username', (type) => async () => {
    const consumer = await k.bp.consumers();
    const res = await k.post('/consumers', { type, body: { username: consumer.username } });
    expect(res.status).toBe(409);
    expect(res.body.name).toBe('unique constraint violation');
    expect(res.body.message).toBe(`UNIQUE violation detected on '{username="${consumer.username}"}'`);
  });

  itContentTypes('returns 400 on conflicting custom_id', (type) => async () => {
    const consumer = await k.bp.consumers({ custom_id: gensym() });
    const res = await k.post('/consumers', { type, body: { username: 'tom', custom_id: consumer.custom_id } });
    expect(res.status).toBe(409);
    expect(res.body.name).toBe('unique constraint violation');
    expect(res.body.message).toBe(`UNIQUE violation detected on '{custom_id="${consumer.custom_id}"}'`);
  });

  it(`${SPEC}: returns 415 on invalid content-type`, async () => {
    expect((await raw('POST', '/consumers', '{"hello": "world"}', 'invalid')).status).toBe(415);
  });

  it(`${SPEC}: returns 415 on missing content-type with body `, async () => {
    expect((await raw('POST', '/consumers', 'invalid')).status).toBe(415);
  });

  it(`${SPEC}: returns 400 on missing body with application/json`, async () => {
    const res = await raw('POST', '/consumers', undefined, 'application/json');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ message: 'Cannot parse JSON body' });
  });

  for (const [title, type] of [
    ['returns 400 on missing body with multipart/form-data', 'multipart/form-data'],
    ['returns 400 on missing body with multipart/x-www-form-urlencoded', FORM],
    ['returns 400 on missing body with no content-type header', undefined],
  ] as const) {
    it(`${SPEC}: ${title}`, async () => {
      const res = await raw('POST', '/consumers', undefined, type);
      expect(res.status).toBe(400);
      expect(res.body.name).toBe('schema violation');
      expect(res.body.fields['@entity']).toEqual([AT_LEAST_ONE]);
    });
  }
});

describe('/consumers GET', () => {
  beforeEach(async () => {
    await k.truncate('consumers');
    for (let i = 0; i < 10; i++) await k.bp.consumers();
  });

  it(`${SPEC}: retrieves the first page`, async () => {
    const res = await k.get('/consumers');
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(10);
  });

  it(`${SPEC}: paginates a set`, async () => {
    const pages: unknown[] = [];
    let offset: string | undefined;
    for (let i = 1; i <= 4; i++) {
      const res = await k.get('/consumers', { query: offset ? { size: 3, offset } : { size: 3 } });
      expect(res.status).toBe(200);
      expect(res.body.data).toHaveLength(i < 4 ? 3 : 1);
      if (i > 1) expect(res.body).not.toEqual(pages[i - 2]);
      offset = res.body.offset;
      pages.push(res.body);
    }
  });

  it(`${SPEC}: not crashed by empty custom_id #KAG-867`, async () => {
    let res = await k.get('/consumers?custom_id=');
    expect(res.status).toBe(400);
    expect(res.body).toBeTypeOf('object');
    res = await k.get('/consumers?custom_id');
    expect(res.status).toBe(400);
    expect(res.body).toBeTypeOf('object');
  });

  it(`${SPEC}: allows filtering by custom_id`, async () => {
    const custom_id = gensym();
    const c = await k.bp.consumers({ custom_id });
    const res = await k.get(`/consumers?custom_id=${encodeURIComponent(custom_id)}`);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([c]);
  });

  it(`${SPEC}: allows filtering by uuid-like custom_id`, async () => {
    const custom_id = randomUUID();
    const c = await k.bp.consumers({ custom_id });
    const res = await k.get(`/consumers?custom_id=${custom_id}`);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([c]);
  });

  it(`${SPEC}: returns empty json array when consumer does not exist`, async () => {
    const res = await k.get('/consumers?custom_id=does-not-exist');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/"data":\[\]/);
  });

  it(`${SPEC}: returns bad request for empty tags`, async () => {
    // Kong's client sends a null query value as `tags=`.
    const res = await k.get('/consumers?tags=');
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('invalid option (tags: cannot be null)');
  });
});

it(`${SPEC}: returns 405 on invalid method`, async () => {
  for (const method of ['DELETE', 'PATCH']) {
    const res = await k.send(method, '/consumers', { body: {} });
    expect(res.status).toBe(405);
    expect(res.body).toEqual({ message: 'Method not allowed' });
  }
});

describe('/consumers/{consumer}', () => {
  it(`${SPEC}: retrieves by id`, async () => {
    const consumer = await k.bp.consumers();
    const res = await k.get(`/consumers/${consumer.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(consumer);
  });

  it(`${SPEC}: retrieves by username`, async () => {
    const consumer = await k.bp.consumers();
    const res = await k.get(`/consumers/${consumer.username}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(consumer);
  });

  it(`${SPEC}: retrieves by urlencoded username`, async () => {
    const consumer = await k.bp.consumers({ username: gensym() });
    const res = await k.get(`/consumers/${encodeURIComponent(consumer.username)}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(consumer);
  });

  it(`${SPEC}: retrieves by utf-8 name and encoded utf-8 name`, async () => {
    const consumer = await k.bp.consumers({ username: '円' });
    let res = await k.get(`/consumers/${encodeURI(consumer.username)}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(consumer);
    res = await k.get(`/consumers/${encodeURIComponent(consumer.username)}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(consumer);
  });

  it(`${SPEC}: returns 404 if not found`, async () => {
    expect((await k.get('/consumers/_inexistent_')).status).toBe(404);
  });

  itContentTypes('updates by id', (type) => async () => {
    const consumer = await k.bp.consumers();
    const username = gensym();
    // Kong's case sleeps a second so that updated_at must move.
    await sleep(1100);
    const res = await k.patch(`/consumers/${consumer.id}`, { type, body: { username } });
    expect(res.status).toBe(200);
    expect(res.body.username).toBe(username);
    expect(res.body.id).toBe(consumer.id);
    expect(consumer.updated_at).toBeLessThan(res.body.updated_at);
    expect(await k.select('consumers', consumer.id)).toEqual(res.body);
  });

  itContentTypes('updates by username', (type) => async () => {
    const consumer = await k.bp.consumers();
    const username = gensym();
    const res = await k.patch(`/consumers/${consumer.username}`, { type, body: { username } });
    expect(res.status).toBe(200);
    expect(res.body.username).toBe(username);
    expect(res.body.id).toBe(consumer.id);
    expect(await k.select('consumers', consumer.id)).toEqual(res.body);
  });

  itContentTypes('updates by username and custom_id with previous values', (type) => async () => {
    const consumer = await k.bp.consumers({ custom_id: gensym() });
    const res = await k.patch(`/consumers/${consumer.username}`, { type, body: { username: consumer.username, custom_id: consumer.custom_id } });
    expect(res.status).toBe(200);
    expect(res.body.username).toBe(consumer.username);
    expect(res.body.custom_id).toBe(consumer.custom_id);
    expect(await k.select('consumers', consumer.id)).toEqual(res.body);
  });

  itContentTypes('returns 404 if not found (PATCH)', (type) => async () => {
    expect((await k.patch('/consumers/_inexistent_', { type, body: { username: gensym() } })).status).toBe(404);
  });

  it(`${SPEC}: returns 415 on invalid content-type (PATCH)`, async () => {
    const consumer = await k.bp.consumers();
    expect((await raw('PATCH', `/consumers/${consumer.id}`, '{"hello": "world"}', 'invalid')).status).toBe(415);
  });

  it(`${SPEC}: returns 415 on missing content-type with body  (PATCH)`, async () => {
    const consumer = await k.bp.consumers();
    expect((await raw('PATCH', `/consumers/${consumer.id}`, 'invalid')).status).toBe(415);
  });

  it(`${SPEC}: returns 400 on missing body with application/json (PATCH)`, async () => {
    const consumer = await k.bp.consumers();
    const res = await raw('PATCH', `/consumers/${consumer.id}`, undefined, 'application/json');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ message: 'Cannot parse JSON body' });
  });

  itContentTypes('creates if not exists', (type) => async () => {
    const custom_id = gensym();
    const id = randomUUID();
    const res = await k.put(`/consumers/${id}`, { type, body: { custom_id } });
    expect(res.status).toBe(200);
    expect(res.body.custom_id).toBe(custom_id);
    expect(res.body.id).toBe(id);
  });

  itContentTypes('creates if not exists by username', (type) => async () => {
    const name = gensym();
    const res = await k.put(`/consumers/${encodeURIComponent(name)}`, { type, body: {} });
    expect(res.status).toBe(200);
    expect(res.body.username).toBe(name);
    expect(res.body.custom_id).toBeNull();
  });

  itContentTypes('replaces if found', (type) => async () => {
    const consumer = await k.bp.consumers();
    const username = gensym();
    const res = await k.put(`/consumers/${consumer.id}`, { type, body: { username } });
    expect(res.status).toBe(200);
    expect(res.body.username).toBe(username);
    expect(await k.select('consumers', consumer.id)).toEqual(res.body);
  });

  itContentTypes('replaces if found by username', (type) => async () => {
    const consumer = await k.bp.consumers();
    const custom_id = gensym();
    let res = await k.put(`/consumers/${consumer.username}`, { type, body: { custom_id } });
    expect(res.status).toBe(200);
    expect(res.body.username).toBe(consumer.username);
    expect(res.body.custom_id).toBe(custom_id);
    const id = res.body.id;
    res = await k.put(`/consumers/${consumer.username}`, { type, body: {} });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(id);
    expect(res.body.username).toBe(consumer.username);
    expect(res.body.custom_id).toBeNull();
  });

  it(`${SPEC}: handles malformed JSON body`, async () => {
    const consumer = await k.bp.consumers();
    const res = await k.put(`/consumers/${consumer.id}`, { body: '{"hello": "world"' });
    expect(res.status).toBe(400);
    expect(res.text).toBe('{"message":"Cannot parse JSON body"}');
  });

  itContentTypes('handles invalid input (PUT)', (type) => async () => {
    const res = await k.put(`/consumers/${randomUUID()}`, { type, body: {} });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ code: 2, name: 'schema violation', fields: { '@entity': [AT_LEAST_ONE] }, message: `schema violation (${AT_LEAST_ONE})` });
  });

  it(`${SPEC}: deletes by id`, async () => {
    const consumer = await k.bp.consumers();
    const res = await k.delete(`/consumers/${consumer.id}`);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
  });

  it(`${SPEC}: deletes by username`, async () => {
    const consumer = await k.bp.consumers();
    const res = await k.delete(`/consumers/${consumer.username}`);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
  });
});

describe('/consumers/{username_or_id}/plugins', () => {
  beforeEach(async () => {
    await k.truncate('plugins');
  });
  const inputs: [string, unknown][] = [
    [FORM, { name: 'rewriter', config: { value: 'potato' } }],
    ['application/json', { name: 'rewriter', config: { value: 'potato' } }],
  ];
  for (const [type, input] of inputs) {
    it(`${SPEC}: creates a plugin config using a consumer id with ${type}`, async () => {
      const consumer = await k.bp.consumers();
      const res = await k.post(`/consumers/${consumer.id}/plugins`, { type, body: input });
      expect(res.status).toBe(201);
      expect(res.body.name).toBe('rewriter');
      expect(res.body.config.value).toBe('potato');
    });
    it(`${SPEC}: creates a plugin config using a consumer username with ${type}`, async () => {
      const consumer = await k.bp.consumers();
      const res = await k.post(`/consumers/${consumer.username}/plugins`, { type, body: input });
      expect(res.status).toBe(201);
      expect(res.body.config.value).toBe('potato');
    });
  }

  itContentTypes('handles invalid input (plugins)', (type) => async () => {
    const consumer = await k.bp.consumers();
    const res = await k.post(`/consumers/${consumer.id}/plugins`, { type, body: type === FORM ? '' : type === 'application/json' ? '{}' : {} });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ code: 2, name: 'schema violation', fields: { name: 'required field missing' }, message: 'schema violation (name: required field missing)' });
  });

  itContentTypes('returns 409 on conflict', (type) => async () => {
    const consumer = await k.bp.consumers();
    let res = await k.post(`/consumers/${consumer.id}/plugins`, { type, body: { name: 'rewriter' } });
    expect(res.status).toBe(201);
    res = await k.post(`/consumers/${consumer.id}/plugins`, { type, body: { name: 'rewriter' } });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({
      code: 5,
      name: 'unique constraint violation',
      message: `UNIQUE violation detected on '{consumer={id="${consumer.id}"},name="rewriter",route=null,service=null}'`,
      fields: { name: 'rewriter', consumer: { id: consumer.id }, route: null, service: null },
    });
  });

  it(`${SPEC}: retrieves the first page`, async () => {
    const consumer = await k.bp.consumers();
    await rewriter(consumer);
    const res = await k.get(`/consumers/${consumer.id}/plugins`);
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(1);
  });

  it(`${SPEC}: ignores an invalid body`, async () => {
    const consumer = await k.bp.consumers();
    expect((await k.get(`/consumers/${consumer.id}/plugins`, { body: 'this fails if decoded as json' })).status).toBe(200);
  });
});

describe('/consumers/{username_or_id}/plugins/{plugin}', () => {
  it(`${SPEC}: retrieves by id (plugin)`, async () => {
    const consumer = await k.bp.consumers();
    const plugin = await rewriter(consumer);
    const res = await k.get(`/consumers/${consumer.id}/plugins/${plugin.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(plugin);
  });

  it(`${SPEC}: retrieves by consumer id when it has spaces`, async () => {
    const consumer = await k.bp.consumers({ username: gensym() });
    const plugin = await rewriter(consumer);
    const res = await k.get(`/consumers/${consumer.id}/plugins/${plugin.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(plugin);
  });

  it(`${SPEC}: only retrieves if associated to the correct consumer`, async () => {
    const consumer = await k.bp.consumers();
    const plugin = await rewriter(consumer);
    const wrong = await k.bp.consumers({ custom_id: `wc-${randomUUID()}`, username: `wrong-consumer-${randomUUID()}` });
    expect((await k.get(`/consumers/${wrong.id}/plugins/${plugin.id}`)).status).toBe(404);
  });

  it(`${SPEC}: ignores an invalid body (plugin)`, async () => {
    const consumer = await k.bp.consumers();
    const plugin = await rewriter(consumer);
    expect((await k.get(`/consumers/${consumer.id}/plugins/${plugin.id}`, { body: 'this fails if decoded as json' })).status).toBe(200);
  });

  for (const type of [FORM, 'application/json']) {
    it(`${SPEC}: updates if found with ${type}`, async () => {
      const consumer = await k.bp.consumers();
      const plugin = await rewriter(consumer);
      const res = await k.patch(`/consumers/${consumer.id}/plugins/${plugin.id}`, { type, body: { config: { value: 'updated' } } });
      expect(res.status).toBe(200);
      expect(res.body.config.value).toBe('updated');
      expect(res.body.id).toBe(plugin.id);
      expect(await k.select('plugins', plugin.id)).toEqual(res.body);
    });

    it(`${SPEC}: doesn't override a plugin config if partial with ${type}`, async () => {
      const consumer = await k.bp.consumers();
      const plugin = await rewriter(consumer);
      const updated = await k.patch(`/plugins/${plugin.id}`, { body: { name: 'rewriter', consumer: { id: consumer.id }, config: { value: 'potato', extra: 'extra1' } } });
      expect(updated.body.config).toEqual({ value: 'potato', extra: 'extra1' });
      const res = await k.patch(`/consumers/${consumer.id}/plugins/${plugin.id}`, { type, body: { config: { value: 'updated' } } });
      expect(res.status).toBe(200);
      expect(res.body.config.value).toBe('updated');
      expect(res.body.config.extra).toBe('extra1');
      const inDb = (await k.select('plugins', plugin.id))!.config as Record<string, string>;
      expect(inDb).toEqual({ value: 'updated', extra: 'extra1' });
    });
  }

  itContentTypes('updates the enabled property', (type) => async () => {
    const consumer = await k.bp.consumers();
    const plugin = await rewriter(consumer);
    const res = await k.patch(`/consumers/${consumer.id}/plugins/${plugin.id}`, { type, body: { name: 'rewriter', enabled: false } });
    expect(res.status).toBe(200);
    expect(res.body.enabled).toBe(false);
    expect((await k.select('plugins', plugin.id))!.enabled).toBe(false);
  });

  itContentTypes('returns 404 if not found (plugin PATCH)', (type) => async () => {
    const consumer = await k.bp.consumers();
    const res = await k.patch(`/consumers/${consumer.id}/plugins/b6cca0aa-4537-11e5-af97-23a06d98af51`, { type, body: type === 'application/json' ? '{}' : type === FORM ? '' : {} });
    expect(res.status).toBe(404);
  });

  itContentTypes('handles invalid input (plugin PATCH)', (type) => async () => {
    const consumer = await k.bp.consumers();
    const plugin = await rewriter(consumer);
    const res = await k.patch(`/consumers/${consumer.id}/plugins/${plugin.id}`, { type, body: { name: 'foo' } });
    expect(res.status).toBe(400);
    expect(res.body.name).toBe('schema violation');
    expect(res.body.fields.name).toBe("plugin 'foo' not enabled; add it to the 'plugins' configuration property");
  });

  for (const type of [FORM, 'application/json']) {
    const input = { name: 'rewriter', config: { value: 'updated' } };
    it(`${SPEC}: creates if not found with ${type}`, async () => {
      const consumer = await k.bp.consumers();
      const id = randomUUID();
      const res = await k.put(`/consumers/${consumer.id}/plugins/${id}`, { type, body: input });
      expect(res.status).toBe(200);
      expect(res.body.config.value).toBe('updated');
      expect(res.body.id).toBe(id);
      expect(await k.select('plugins', id)).toEqual(res.body);
    });

    it(`${SPEC}: updates if found with ${type} (PUT)`, async () => {
      const consumer = await k.bp.consumers();
      const plugin = await rewriter(consumer);
      const res = await k.put(`/consumers/${consumer.id}/plugins/${plugin.id}`, { type, body: input });
      expect(res.status).toBe(200);
      expect(res.body.config.value).toBe('updated');
      expect(res.body.id).toBe(plugin.id);
      expect(await k.select('plugins', plugin.id)).toEqual(res.body);
    });
  }

  it(`${SPEC}: deletes a plugin configuration`, async () => {
    const consumer = await k.bp.consumers();
    const plugin = await rewriter(consumer);
    expect((await k.delete(`/consumers/${consumer.id}/plugins/${plugin.id}`)).status).toBe(204);
  });

  it(`${SPEC}: returns 404 if not found (plugin DELETE)`, async () => {
    const consumer = await k.bp.consumers();
    expect((await k.delete(`/consumers/${consumer.id}/plugins/fafafafa-1234-baba-5678-cececececece`)).status).toBe(404);
  });
});
