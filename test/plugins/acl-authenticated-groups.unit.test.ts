// The acl plugin's use of kong.ctx.shared.authenticated_groups (set by LDAP / OAuth2-style
// plugins): they decide for a request without a consumer, for an anonymous consumer, and,
// with always_use_authenticated_groups, even for an authenticated one.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { expect, test } from 'vitest';
import handler from '../../src/plugins/acl/handler.ts';
import { aclSchema } from '../../src/plugins/acl/schema.ts';
import { EntityStore } from '../../src/cache/entity-store.ts';
import { ProxyContext } from '../../src/proxy/context.ts';
import type { PluginEnv } from '../../src/plugins/types.ts';
import { consumer, plugin, snapshot } from '../support/proxy-fixtures.ts';

const alice = consumer('alice');
const store = new EntityStore();
store.load(snapshot({ consumers: [alice], acls: [{ id: randomUUID(), consumer: { id: alice.id }, group: 'staff', tags: null, created_at: 1 }] }));
const env: PluginEnv = { store, counters: { get: () => 0, incr: () => 0 }, logger: pino({ level: 'silent' }) };

function run(config: Record<string, unknown>, setup: (ctx: ProxyContext) => void): ProxyContext {
  const req = { socket: { remoteAddress: '127.0.0.1' }, method: 'GET', headers: {} } as unknown as IncomingMessage;
  const ctx = new ProxyContext(req, {} as ServerResponse, 'rid', 0, '/', '', 'h');
  setup(ctx);
  handler.create(aclSchema.parse(config), env, plugin('acl', config)).access!(ctx);
  return ctx;
}

const authenticated = (ctx: ProxyContext, groups: string[]) => (ctx.shared = { authenticated_groups: groups });
const asAlice = (ctx: ProxyContext, credential: boolean) => {
  ctx.consumer = alice;
  ctx.credential = credential ? { id: randomUUID(), consumer: { id: alice.id } } : null;
};

test('no consumer: authenticated groups decide and go upstream as X-Authenticated-Groups', () => {
  const ok = run({ allow: ['ldap-admins'] }, (c) => authenticated(c, ['ldap-admins', 'x']));
  expect(ok.exitStatus).toBe(0);
  expect(ok.requestHeaderEdits?.get('x-authenticated-groups')).toBe('ldap-admins, x');
  expect(run({ allow: ['ldap-admins'] }, (c) => authenticated(c, ['x'])).exitStatus).toBe(403);
  expect(run({ allow: ['ldap-admins'] }, () => {}).exitStatus).toBe(401);
});

test('an anonymous consumer is judged by authenticated groups when there are any, else by its own', () => {
  expect(run({ allow: ['ldap-admins'] }, (c) => (asAlice(c, false), authenticated(c, ['ldap-admins']))).exitStatus).toBe(0);
  const own = run({ allow: ['staff'] }, (c) => asAlice(c, false));
  expect(own.exitStatus).toBe(0);
  expect(own.requestHeaderEdits?.get('x-consumer-groups')).toBe('staff');
});

test('an authenticated consumer: its own groups, unless always_use_authenticated_groups', () => {
  const own = run({ allow: ['staff'] }, (c) => (asAlice(c, true), authenticated(c, ['ldap-admins'])));
  expect(own.exitStatus).toBe(0);
  expect(own.requestHeaderEdits?.get('x-consumer-groups')).toBe('staff');
  const forced = run({ allow: ['staff'], always_use_authenticated_groups: true }, (c) => (asAlice(c, true), authenticated(c, ['ldap-admins'])));
  expect(forced.exitStatus).toBe(403);
  const deny = run({ deny: ['ldap-admins'], always_use_authenticated_groups: true }, (c) => (asAlice(c, true), authenticated(c, ['ldap-admins'])));
  expect(deny.exitStatus).toBe(403);
});
