// Kong/kong spec/03-plugins/09-key-auth/01-api_spec.lua (traditional deploy), one `it` per Kong `it`.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startKongSpecAdmin, type KongSpecAdmin } from './harness.ts';

const SPEC = '09-key-auth/01-api_spec.lua';
let k: KongSpecAdmin;
let consumer: Record<string, any>;
let route1: Record<string, any>;
let route2: Record<string, any>;
beforeAll(async () => {
  k = await startKongSpecAdmin('kkeyauth');
  route1 = await k.bp.routes({ hosts: ['keyauth1.test'] });
  route2 = await k.bp.routes({ hosts: ['keyauth2.test'] });
  consumer = await k.bp.consumers({ username: 'bob' });
});
afterAll(async () => {
  await k?.close();
});
const credential = (o: Record<string, unknown> = {}) => k.bp.insert('keyauth_credentials', { consumer: { id: consumer.id }, ...o });
const truncate = () => k.truncate('keyauth_credentials');

describe('/consumers/:consumer/key-auth POST', () => {
  beforeEach(truncate);

  it(`${SPEC}: creates a key-auth credential with key`, async () => {
    const res = await k.post('/consumers/bob/key-auth', { body: { key: '1234' } });
    expect(res.status).toBe(201);
    expect(res.body.consumer.id).toBe(consumer.id);
    expect(res.body.key).toBe('1234');
  });

  it(`${SPEC}: creates a key-auth auto-generating a unique key`, async () => {
    let res = await k.post('/consumers/bob/key-auth', { body: {} });
    expect(res.status).toBe(201);
    expect(res.body.consumer.id).toBe(consumer.id);
    expect(typeof res.body.key).toBe('string');
    const first = res.body.key;
    await truncate();
    res = await k.post('/consumers/bob/key-auth', { body: {} });
    expect(res.status).toBe(201);
    expect(res.body.key).not.toBe(first);
  });

  it(`${SPEC}: creates a key-auth credential with tags`, async () => {
    const res = await k.post('/consumers/bob/key-auth', { body: { key: 'keyauth-with-tags', tags: ['tag1', 'tag2'] } });
    expect(res.status).toBe(201);
    expect(res.body.tags).toEqual(['tag1', 'tag2']);
  });

  it(`${SPEC}: creates a key-auth credential with a ttl`, async () => {
    const res = await k.post('/consumers/bob/key-auth', { body: { ttl: 1 } });
    expect(res.status).toBe(201);
    expect(res.body.consumer.id).toBe(consumer.id);
    expect(typeof res.body.key).toBe('string');
    // Kong's case sleeps 3 s for a 1 s ttl.
    await sleep(2100);
    expect((await k.get(`/consumers/bob/key-auth/${res.body.id}`)).status).toBe(404);
  });
});

describe('/consumers/:consumer/key-auth GET', () => {
  it(`${SPEC}: retrieves the first page`, async () => {
    await truncate();
    for (let i = 0; i < 3; i++) await credential();
    const res = await k.get('/consumers/bob/key-auth');
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(3);
  });

  it(`${SPEC}: entries contain ttl when specified`, async () => {
    await truncate();
    for (let i = 0; i < 3; i++) await credential({ ttl: 10 });
    const res = await k.get('/consumers/bob/key-auth');
    expect(res.status).toBe(200);
    for (const c of res.body.data) expect(c.ttl).not.toBeNull();
  });
});

describe('/consumers/:consumer/key-auth/:id', () => {
  let cred: Record<string, any>;
  beforeEach(async () => {
    await truncate();
    cred = await credential();
  });

  it(`${SPEC}: retrieves key-auth credential by id`, async () => {
    const res = await k.get(`/consumers/bob/key-auth/${cred.id}`);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(cred.id);
  });

  it(`${SPEC}: retrieves key-auth credential by key`, async () => {
    const res = await k.get(`/consumers/bob/key-auth/${cred.key}`);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(cred.id);
  });

  it(`${SPEC}: retrieves credential by id only if the credential belongs to the specified consumer`, async () => {
    await k.bp.consumers({ username: 'alice' });
    expect((await k.get(`/consumers/bob/key-auth/${cred.id}`)).status).toBe(200);
    expect((await k.get(`/consumers/alice/key-auth/${cred.id}`)).status).toBe(404);
  });

  it(`${SPEC}: key-auth credential contains #ttl`, async () => {
    const c = await credential({ ttl: 10 });
    const res = await k.get(`/consumers/bob/key-auth/${c.id}`);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(c.id);
    expect(res.body.ttl).not.toBeNull();
  });

  it(`${SPEC}: creates a key-auth credential with key (PUT)`, async () => {
    const res = await k.put('/consumers/bob/key-auth/1234', { body: {} });
    expect(res.status).toBe(200);
    expect(res.body.consumer.id).toBe(consumer.id);
    expect(res.body.key).toBe('1234');
  });

  it(`${SPEC}: creates a key-auth credential auto-generating the key`, async () => {
    const res = await k.put('/consumers/bob/key-auth/c16bbff7-5d0d-4a28-8127-1ee581898f11', { body: {} });
    expect(res.status).toBe(200);
    expect(res.body.consumer.id).toBe(consumer.id);
    expect(typeof res.body.key).toBe('string');
  });

  it(`${SPEC}: updates a credential by id`, async () => {
    const res = await k.patch(`/consumers/bob/key-auth/${cred.id}`, { body: { key: '4321' } });
    expect(res.status).toBe(200);
    expect(res.body.key).toBe('4321');
  });

  it(`${SPEC}: updates a credential by key`, async () => {
    const res = await k.patch(`/consumers/bob/key-auth/${cred.key}`, { body: { key: '4321UPD' } });
    expect(res.status).toBe(200);
    expect(res.body.key).toBe('4321UPD');
  });

  it(`${SPEC}: handles invalid input`, async () => {
    const res = await k.patch(`/consumers/bob/key-auth/${cred.id}`, { body: { key: 123 } });
    expect(res.status).toBe(400);
    expect(res.body.fields).toEqual({ key: 'expected a string' });
  });

  it(`${SPEC}: deletes a credential`, async () => {
    expect((await k.delete(`/consumers/bob/key-auth/${cred.id}`)).status).toBe(204);
  });

  it(`${SPEC}: returns 400 on invalid input`, async () => {
    expect((await k.delete('/consumers/bob/key-auth/blah')).status).toBe(404);
  });

  it(`${SPEC}: returns 404 if not found`, async () => {
    expect((await k.delete('/consumers/bob/key-auth/00000000-0000-0000-0000-000000000000')).status).toBe(404);
  });
});

describe('/plugins for route', () => {
  it(`${SPEC}: fails with invalid key_names`, async () => {
    const res = await k.post('/plugins', { body: { name: 'key-auth', route: { id: route1.id }, config: { key_names: ['hello\\world'] } } });
    expect(res.status).toBe(400);
    expect(res.body.fields.config.key_names[0]).toBe("bad header name 'hello\\world', allowed characters are A-Z, a-z, 0-9, '_', and '-'");
  });

  it(`${SPEC}: succeeds with valid key_names`, async () => {
    const res = await k.post('/plugins', { body: { route: { id: route2.id }, name: 'key-auth', config: { key_names: ['hello-world'] } } });
    expect(res.status).toBe(201);
    expect(res.body.config.key_names[0]).toBe('hello-world');
  });
});

describe('/key-auths', () => {
  beforeAll(async () => {
    await truncate();
    for (let i = 0; i < 3; i++) await credential();
    const consumer2 = await k.bp.consumers({ username: 'bob-the-buidler' });
    for (let i = 0; i < 3; i++) await k.bp.insert('keyauth_credentials', { consumer: { id: consumer2.id } });
  });

  it(`${SPEC}: retrieves all the key-auths with trailing slash`, async () => {
    const res = await k.get('/key-auths/');
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(6);
  });

  it(`${SPEC}: retrieves all the key-auths without trailing slash`, async () => {
    const res = await k.get('/key-auths');
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(6);
  });

  it(`${SPEC}: paginates through the key-auths`, async () => {
    const one = (await k.get('/key-auths?size=3')).body;
    expect(one.data).toHaveLength(3);
    const two = (await k.get('/key-auths', { query: { size: 3, offset: one.offset } })).body;
    expect(two.data).toHaveLength(3);
    expect(two.data).not.toEqual(one.data);
    expect(two.offset).toBeUndefined();
  });

  it(`${SPEC}: does not create key-auth credential when missing consumer`, async () => {
    await truncate();
    const res = await k.post('/key-auths', { body: { key: '1234' } });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('schema violation (consumer: required field missing)');
  });

  it(`${SPEC}: creates key-auth credential`, async () => {
    const res = await k.post('/key-auths', { body: { key: '1234', consumer: { id: consumer.id } } });
    expect(res.status).toBe(201);
    expect(res.body.key).toBe('1234');
  });
});

describe('/key-auths/:credential_key_or_id PUT', () => {
  beforeAll(truncate);

  it(`${SPEC}: does not create key-auth credential when missing consumer (PUT)`, async () => {
    const res = await k.put('/key-auths/1234', { body: {} });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('schema violation (consumer: required field missing)');
  });

  it(`${SPEC}: creates key-auth credential (PUT)`, async () => {
    const res = await k.put('/key-auths/1234', { body: { consumer: { id: consumer.id } } });
    expect(res.status).toBe(200);
    expect(res.body.key).toBe('1234');
  });
});

describe('/key-auths/:credential_key_or_id/consumer', () => {
  let cred: Record<string, any>;
  beforeAll(async () => {
    await truncate();
    cred = await credential();
  });

  it(`${SPEC}: retrieve Consumer from a credential's id`, async () => {
    const res = await k.get(`/key-auths/${cred.id}/consumer`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(consumer);
  });

  it(`${SPEC}: retrieve a Consumer from a credential's key`, async () => {
    const res = await k.get(`/key-auths/${cred.key}/consumer`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(consumer);
  });

  it(`${SPEC}: returns 404 for a random non-existing id`, async () => {
    expect((await k.get(`/key-auths/${randomUUID()}/consumer`)).status).toBe(404);
  });

  it(`${SPEC}: returns 404 for a random non-existing key`, async () => {
    expect((await k.get(`/key-auths/${randomBytes(12).toString('hex')}/consumer`)).status).toBe(404);
  });
});
