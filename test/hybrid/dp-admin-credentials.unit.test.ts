// A data plane's read-only Admin API answers basic-auth and acl reads from its synced cache:
// a group names an acl under its consumer only, credentials by username, writes are refused.
import { expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import { Router, type AdminRequest } from '../../src/admin/router.ts';
import { EntityStore } from '../../src/cache/entity-store.ts';
import { registerDataPlaneAdmin } from '../../src/hybrid/dp-admin.ts';
import { consumer, snapshot } from '../support/proxy-fixtures.ts';

test('basic-auth and acl reads on a data plane', async () => {
  const alice = consumer('alice');
  const bob = consumer('bob');
  const acl = (c: { id: string }, group: string) => ({ id: randomUUID(), consumer: { id: c.id }, group, tags: null, created_at: 1 });
  const aliceAdmins = acl(alice, 'admins');
  const store = new EntityStore();
  store.load(
    snapshot({
      consumers: [alice, bob],
      acls: [aliceAdmins, acl(bob, 'readers')],
      basicauth_credentials: [{ id: randomUUID(), consumer: { id: alice.id }, username: 'alice-user', password: 'h', tags: null, created_at: 1 }],
    }),
  );
  const router = new Router();
  registerDataPlaneAdmin(router, () => store);
  const get = async (path: string, method = 'GET') => {
    const m = router.match(method, path);
    if (m.kind !== 'found') throw new Error(`${method} ${path}: ${m.kind}`);
    return m.handler({ method, path, params: m.params, query: new URLSearchParams(), headers: {}, body: async () => ({}), bodyKind: () => 'none' } as unknown as AdminRequest);
  };
  expect(await get('/consumers/alice/acls/admins')).toMatchObject({ status: 200, body: { id: aliceAdmins.id } });
  expect((await get('/consumers/bob/acls/admins')).status).toBe(404);
  expect((await get(`/acls/${aliceAdmins.id}`)).status).toBe(200);
  expect((await get('/acls/admins')).status).toBe(404);
  expect((await get('/consumers/alice/acls')).body).toMatchObject({ data: [{ group: 'admins' }] });
  expect((await get('/basic-auths/alice-user')).body).toMatchObject({ username: 'alice-user' });
  expect((await get('/basic-auths/alice-user/consumer')).body).toMatchObject({ username: 'alice' });
  expect((await get('/consumers/alice/basic-auth/alice-user')).status).toBe(200);
  expect((await get('/consumers/alice/acls', 'POST')).status).toBe(400);
});
