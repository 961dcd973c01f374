// Kong/kong spec/03-plugins/18-acl/01-api_spec.lua (traditional deploy), one `it` per Kong `it`.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { startKongSpecAdmin, type KongSpecAdmin } from './harness.ts';

const SPEC = '18-acl/01-api_spec.lua';
let k: KongSpecAdmin;
let consumer: Record<string, any>;
beforeAll(async () => {
  k = await startKongSpecAdmin('kacl');
  consumer = await k.bp.consumers({ username: 'bob' });
});
afterAll(async () => {
  await k?.close();
});
const truncate = () => k.truncate('acls');
const acl = (o: Record<string, unknown>) => k.bp.insert('acls', { consumer: { id: consumer.id }, ...o });

describe('/consumers/:consumer/acls/', () => {
  beforeEach(truncate);

  it(`${SPEC}: creates an ACL association`, async () => {
    const res = await k.post('/consumers/bob/acls', { body: { group: 'admin' } });
    expect(res.status).toBe(201);
    expect(res.body.consumer.id).toBe(consumer.id);
    expect(res.body.group).toBe('admin');
  });

  it(`${SPEC}: creates an ACL association with tags`, async () => {
    const res = await k.post('/consumers/bob/acls/', { body: { group: 'yoloers', tags: ['tag1', 'tag2'] } });
    expect(res.status).toBe(201);
    expect(res.body.tags).toEqual(['tag1', 'tag2']);
  });

  it(`${SPEC}: returns bad request`, async () => {
    const res = await k.post('/consumers/bob/acls', { body: {} });
    expect(res.status).toBe(400);
    expect(res.body.fields).toEqual({ group: 'required field missing' });
  });

  it(`${SPEC}: retrieves the first page`, async () => {
    for (let i = 1; i <= 3; i++) await acl({ group: `group${i}` });
    const res = await k.get('/consumers/bob/acls');
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(3);
  });
});

describe('/consumers/:consumer/acls/:id', () => {
  let a1: Record<string, any>;
  let a2: Record<string, any>;
  beforeEach(async () => {
    await truncate();
    a1 = await acl({ group: 'hello' });
    a2 = await acl({ group: 'hello2' });
  });

  it(`${SPEC}: retrieves by id`, async () => {
    expect((await k.get(`/consumers/bob/acls/${a1.id}`)).body.id).toBe(a1.id);
  });

  it(`${SPEC}: retrieves by group`, async () => {
    expect((await k.get(`/consumers/bob/acls/${a1.group}`)).body.id).toBe(a1.id);
  });

  it(`${SPEC}: retrieves ACL by id only if the ACL belongs to the specified consumer`, async () => {
    await k.delete('/consumers/alice');
    await k.bp.consumers({ username: 'alice' });
    expect((await k.get(`/consumers/bob/acls/${a1.id}`)).status).toBe(200);
    expect((await k.get(`/consumers/alice/acls/${a1.id}`)).status).toBe(404);
  });

  it(`${SPEC}: retrieves ACL by group only if the ACL belongs to the specified consumer`, async () => {
    expect((await k.get(`/consumers/bob/acls/${a1.group}`)).status).toBe(200);
    expect((await k.get(`/consumers/alice/acls/${a1.group}`)).status).toBe(404);
  });

  for (const how of ['POST', 'PUT'] as const) {
    it(`${SPEC}: retrieves right ACL by group when multiple consumers share the same group name created with ${how}`, async () => {
      for (const username of ['anna', 'jack']) {
        const res = how === 'POST' ? await k.post('/consumers', { body: { username } }) : await k.put(`/consumers/${username}`);
        expect(res.status).toBe(how === 'POST' ? 201 : 200);
      }
      const create = (who: string) => (how === 'POST' ? k.post(`/consumers/${who}/acls`, { body: { group: 'foo' } }) : k.put(`/consumers/${who}/acls/foo`));
      const ag = await create('anna');
      expect(ag.status).toBe(how === 'POST' ? 201 : 200);
      const jg = await create('jack');
      expect(jg.status).toBe(how === 'POST' ? 201 : 200);
      const ag2 = (await k.get('/consumers/anna/acls/foo')).body;
      const jg2 = (await k.get('/consumers/jack/acls/foo')).body;
      expect(ag2).toEqual(ag.body);
      expect(jg2).toEqual(jg.body);
      expect(jg.body).not.toEqual(ag.body);
      expect(jg2).not.toEqual(ag2);
      expect((await k.delete('/consumers/anna')).status).toBe(204);
      expect((await k.delete('/consumers/jack')).status).toBe(204);
    });
  }

  it(`${SPEC}: upserts an ACL's groupname`, async () => {
    const res = await k.put('/consumers/bob/acls/pro', { body: {} });
    expect(res.status).toBe(200);
    expect(res.body.consumer.id).toBe(consumer.id);
    expect(res.body.group).toBe('pro');
  });

  it(`${SPEC}: returns bad request (PUT)`, async () => {
    const res = await k.put('/consumers/bob/acls/f7852533-9160-4f5a-ae12-1ab99219ea95', { body: { group: 123 } });
    expect(res.status).toBe(400);
    expect(res.body.fields).toEqual({ group: 'expected a string' });
  });

  it(`${SPEC}: updates an ACL group by id`, async () => {
    const res = await k.patch(`/consumers/bob/acls/${a1.id}`, { body: { group: 'updatedGroup' } });
    expect(res.status).toBe(200);
    expect(res.body.group).not.toBe(a1.group);
  });

  it(`${SPEC}: updates an ACL group by group`, async () => {
    const res = await k.patch(`/consumers/bob/acls/${a1.group}`, { body: { group: 'updatedGroup2' } });
    expect(res.status).toBe(200);
    expect(res.body.group).not.toBe(a1.group);
  });

  it(`${SPEC}: handles invalid input`, async () => {
    const res = await k.patch(`/consumers/bob/acls/${a1.id}`, { body: { group: 123 } });
    expect(res.status).toBe(400);
    expect(res.body.fields).toEqual({ group: 'expected a string' });
  });

  it(`${SPEC}: deletes an ACL group by id`, async () => {
    expect((await k.delete(`/consumers/bob/acls/${a1.id}`)).status).toBe(204);
  });

  it(`${SPEC}: deletes an ACL group by group`, async () => {
    expect((await k.delete(`/consumers/bob/acls/${a2.group}`)).status).toBe(204);
  });

  it(`${SPEC}: returns 404 on missing group`, async () => {
    expect((await k.delete('/consumers/bob/acls/blah')).status).toBe(404);
  });

  it(`${SPEC}: returns 404 if not found`, async () => {
    expect((await k.delete('/consumers/bob/acls/00000000-0000-0000-0000-000000000000')).status).toBe(404);
  });
});

describe('/acls', () => {
  beforeAll(async () => {
    await truncate();
    for (let i = 1; i <= 3; i++) await acl({ group: `group${i}` });
    const consumer2 = await k.bp.consumers({ username: 'bob-the-buidler' });
    for (let i = 1; i <= 3; i++) await k.bp.insert('acls', { group: `group${i}`, consumer: { id: consumer2.id } });
  });

  it(`${SPEC}: retrieves all the acls with trailing slash`, async () => {
    expect((await k.get('/acls/')).body.data).toHaveLength(6);
  });

  it(`${SPEC}: retrieves all the acls without trailing slash`, async () => {
    expect((await k.get('/acls')).body.data).toHaveLength(6);
  });

  it(`${SPEC}: paginates through the acls`, async () => {
    const one = (await k.get('/acls?size=3')).body;
    expect(one.data).toHaveLength(3);
    const two = (await k.get('/acls', { query: { size: 3, offset: one.offset } })).body;
    expect(two.data).toHaveLength(3);
    expect(two.data).not.toEqual(one.data);
    expect(two.offset).toBeUndefined();
  });

  it(`${SPEC}: does not create acl when missing consumer`, async () => {
    await truncate();
    const res = await k.post('/acls', { body: { group: 'test-group' } });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('schema violation (consumer: required field missing)');
  });

  it(`${SPEC}: creates acl`, async () => {
    const res = await k.post('/acls', { body: { group: 'test-group', consumer: { id: consumer.id } } });
    expect(res.status).toBe(201);
    expect(res.body.group).toBe('test-group');
  });
});

describe('/acls/:group_or_id', () => {
  beforeAll(truncate);

  it(`${SPEC}: does not create acl when missing consumer (PUT)`, async () => {
    const res = await k.put(`/acls/${randomUUID()}`, { body: { group: 'test-group' } });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('schema violation (consumer: required field missing)');
  });

  it(`${SPEC}: creates acl (PUT)`, async () => {
    const res = await k.put(`/acls/${randomUUID()}`, { body: { group: 'test-group', consumer: { id: consumer.id } } });
    expect(res.status).toBe(200);
    expect(res.body.group).toBe('test-group');
  });

  it(`${SPEC}: retrieves a Consumer from an acl's id`, async () => {
    await truncate();
    const cred = await acl({ group: 'foo-group' });
    const res = await k.get(`/acls/${cred.id}/consumer`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(consumer);
  });
});
