// Kong/kong spec/03-plugins/10-basic-auth/02-api_spec.lua (traditional deploy), one `it` per Kong `it`.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { startKongSpecAdmin, type KongSpecAdmin } from './harness.ts';

const SPEC = '10-basic-auth/02-api_spec.lua';
let k: KongSpecAdmin;
let consumer: Record<string, any>;
beforeAll(async () => {
  k = await startKongSpecAdmin('kbasicauth');
  consumer = await k.bp.consumers({ username: 'bob' });
});
afterAll(async () => {
  await k?.close();
});
const truncate = () => k.truncate('basicauth_credentials');
const credential = (o: Record<string, unknown>) => k.bp.insert('basicauth_credentials', { consumer: { id: consumer.id }, ...o });
/** kong/plugins/basic-auth/crypto.lua hash(consumer_id, password). */
const kongHash = (consumerId: string, password: string) => createHash('sha1').update(password).update(consumerId).digest('hex');

describe('/consumers/:consumer/basic-auth/', () => {
  beforeEach(truncate);

  it(`${SPEC}: creates a basic-auth credential`, async () => {
    const res = await k.post('/consumers/bob/basic-auth', { body: { username: 'bob', password: 'kong' } });
    expect(res.status).toBe(201);
    expect(res.body.consumer.id).toBe(consumer.id);
    expect(res.body.username).toBe('bob');
  });

  it(`${SPEC}: creates a basic-auth credential with tags`, async () => {
    const res = await k.post('/consumers/bob/basic-auth/', { body: { username: 'bobby', password: 'kong', tags: ['tag1', 'tag2'] } });
    expect(res.status).toBe(201);
    expect(res.body.tags).toEqual(['tag1', 'tag2']);
  });

  it(`${SPEC}: hashes the password`, async () => {
    const res = await k.post('/consumers/bob/basic-auth', { body: { username: 'bob', password: 'kong' } });
    expect(res.status).toBe(201);
    expect(res.body.password).not.toBe('kong');
    expect(res.body.password).toBe(kongHash(consumer.id, 'kong'));
  });

  it(`${SPEC}: hashes the password without trimming whitespace`, async () => {
    const res = await k.post('/consumers/bob/basic-auth', { body: { username: 'bob', password: ' kong ' } });
    expect(res.status).toBe(201);
    expect(res.body.password).toBe(kongHash(consumer.id, ' kong '));
  });

  it(`${SPEC}: returns bad request`, async () => {
    const res = await k.post('/consumers/bob/basic-auth', { body: {} });
    expect(res.status).toBe(400);
    expect(res.body.fields).toEqual({ username: 'required field missing', password: 'required field missing' });
  });

  it(`${SPEC}: cannot create two identical usernames`, async () => {
    expect((await k.post('/consumers/bob/basic-auth', { body: { username: 'bob', password: 'kong' } })).status).toBe(201);
    expect((await k.post('/consumers/bob/basic-auth', { body: { username: 'bob', password: 'kong' } })).status).toBe(409);
  });

  it(`${SPEC}: retrieves the first page`, async () => {
    for (let i = 1; i <= 3; i++) await credential({ username: `bob${i}`, password: 'kong' });
    const res = await k.get('/consumers/bob/basic-auth');
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(3);
  });
});

describe('/consumers/:consumer/basic-auth/:id', () => {
  let cred: Record<string, any>;
  beforeEach(async () => {
    await truncate();
    cred = await credential({ username: 'bob', password: 'kong' });
  });

  it(`${SPEC}: retrieves basic-auth credential by id`, async () => {
    expect((await k.get(`/consumers/bob/basic-auth/${cred.id}`)).body.id).toBe(cred.id);
  });

  it(`${SPEC}: retrieves basic-auth credential by username`, async () => {
    expect((await k.get(`/consumers/bob/basic-auth/${cred.username}`)).body.id).toBe(cred.id);
  });

  it(`${SPEC}: retrieves credential by id only if the credential belongs to the specified consumer`, async () => {
    await k.delete('/consumers/alice');
    await k.bp.consumers({ username: 'alice' });
    expect((await k.get(`/consumers/bob/basic-auth/${cred.id}`)).status).toBe(200);
    expect((await k.get(`/consumers/alice/basic-auth/${cred.id}`)).status).toBe(404);
  });

  it(`${SPEC}: creates a basic-auth credential (PUT)`, async () => {
    const res = await k.put('/consumers/bob/basic-auth/robert', { body: { password: 'kong' } });
    expect(res.status).toBe(200);
    expect(res.body.consumer.id).toBe(consumer.id);
    expect(res.body.username).toBe('robert');
  });

  it(`${SPEC}: returns bad request (PUT)`, async () => {
    const res = await k.put('/consumers/bob/basic-auth/b59d82f6-c839-4a60-b491-c6cdff4cd5d3', { body: { username: 123 } });
    expect(res.status).toBe(400);
    expect(res.body.fields).toEqual({ username: 'expected a string', password: 'required field missing' });
  });

  it(`${SPEC}: updates a credential by id`, async () => {
    const res = await k.patch(`/consumers/bob/basic-auth/${cred.id}`, { body: { password: '4321' } });
    expect(res.status).toBe(200);
    expect(res.body.password).not.toBe(cred.password);
  });

  it(`${SPEC}: ignores a nil password when updated by id`, async () => {
    const res = await k.patch(`/consumers/bob/basic-auth/${cred.id}`, { body: { username: 'Tyrion Lannister' } });
    expect(res.status).toBe(200);
    expect(res.body.username).toBe('Tyrion Lannister');
    expect(res.body.password).toBe(cred.password);
  });

  it(`${SPEC}: updates a credential by username`, async () => {
    const res = await k.patch(`/consumers/bob/basic-auth/${cred.username}`, { body: { password: 'upd4321' } });
    expect(res.status).toBe(200);
    expect(res.body.password).not.toBe(cred.password);
  });

  it(`${SPEC}: ignores a nil password when updated by username`, async () => {
    const res = await k.patch(`/consumers/bob/basic-auth/${cred.username}`, { body: { username: 'Tyrion Lannister' } });
    expect(res.status).toBe(200);
    expect(res.body.username).toBe('Tyrion Lannister');
    expect(res.body.password).toBe(cred.password);
  });

  it(`${SPEC}: handles invalid input`, async () => {
    const res = await k.patch(`/consumers/bob/basic-auth/${cred.id}`, { body: { username: 123 } });
    expect(res.status).toBe(400);
    expect(res.body.fields).toEqual({ username: 'expected a string' });
  });

  it(`${SPEC}: deletes a credential`, async () => {
    expect((await k.delete(`/consumers/bob/basic-auth/${cred.id}`)).status).toBe(204);
  });

  it(`${SPEC}: returns 404 on missing username`, async () => {
    expect((await k.delete('/consumers/bob/basic-auth/blah')).status).toBe(404);
  });

  it(`${SPEC}: returns 404 if not found`, async () => {
    expect((await k.delete('/consumers/bob/basic-auth/00000000-0000-0000-0000-000000000000')).status).toBe(404);
  });
});

describe('/basic-auths', () => {
  beforeAll(async () => {
    await truncate();
    await credential({ username: 'bob', password: 'secret' });
    const consumer2 = await k.bp.consumers({ username: 'bob-the-buidler' });
    await k.bp.insert('basicauth_credentials', { consumer: { id: consumer2.id }, username: 'bob-the-buidler', password: 'secret' });
  });

  it(`${SPEC}: retrieves all the basic-auths with trailing slash`, async () => {
    expect((await k.get('/basic-auths/')).body.data).toHaveLength(2);
  });

  it(`${SPEC}: retrieves all the basic-auths without trailing slash`, async () => {
    expect((await k.get('/basic-auths')).body.data).toHaveLength(2);
  });

  it(`${SPEC}: paginates through the basic-auths`, async () => {
    const one = (await k.get('/basic-auths?size=1')).body;
    expect(one.data).toHaveLength(1);
    const two = (await k.get('/basic-auths', { query: { size: 1, offset: one.offset } })).body;
    expect(two.data).toHaveLength(1);
    expect(two.data).not.toEqual(one.data);
    expect(two.offset).toBeUndefined();
  });

  it(`${SPEC}: does not create basic-auth credential when missing consumer`, async () => {
    await truncate();
    const res = await k.post('/basic-auths', { body: { username: 'bob' } });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('2 schema violations (consumer: required field missing; password: required field missing)');
  });

  it(`${SPEC}: creates basic-auth credential`, async () => {
    const res = await k.post('/basic-auths', { body: { username: 'bob', password: 'test', consumer: { id: consumer.id } } });
    expect(res.status).toBe(201);
    expect(res.body.username).toBe('bob');
  });
});

describe('/basic-auths/:username_or_id', () => {
  it(`${SPEC}: does not allow updating consumer as it would invalidate the password`, async () => {
    const consumer2 = await k.bp.consumers({ username: 'john' });
    const res = await k.patch('/basic-auths/bob', { body: { consumer: { id: consumer2.id } } });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe("schema violation (all or none of these fields must be set: 'password', 'consumer.id')");
  });

  it(`${SPEC}: does not create basic-auth credential when missing consumer (PUT)`, async () => {
    await truncate();
    const res = await k.put('/basic-auths/bob', { body: { password: 'secret' } });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('2 schema violations (consumer: required field missing; password: required field missing)');
  });

  it(`${SPEC}: creates basic-auth credential (PUT)`, async () => {
    const res = await k.put('/basic-auths/bob', { body: { password: 'secret', consumer: { id: consumer.id } } });
    expect(res.status).toBe(200);
    expect(res.body.username).toBe('bob');
  });
});

describe('/basic-auths/:credential_username_or_id/consumer', () => {
  let cred: Record<string, any>;
  beforeAll(async () => {
    await truncate();
    cred = await credential({ username: 'bob', password: 'secret' });
  });

  it(`${SPEC}: retrieve consumer from a basic-auth id`, async () => {
    expect((await k.get(`/basic-auths/${cred.id}/consumer`)).body).toEqual(consumer);
  });

  it(`${SPEC}: retrieve consumer from a basic-auth username`, async () => {
    expect((await k.get(`/basic-auths/${cred.username}/consumer`)).body).toEqual(consumer);
  });

  it(`${SPEC}: returns 404 for a random non-existing basic-auth id`, async () => {
    expect((await k.get(`/basic-auths/${randomUUID()}/consumer`)).status).toBe(404);
  });

  it(`${SPEC}: returns 404 for a random non-existing basic-auth username`, async () => {
    expect((await k.get(`/basic-auths/${randomBytes(12).toString('hex')}/consumer`)).status).toBe(404);
  });
});
