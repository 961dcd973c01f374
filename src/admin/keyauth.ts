// key-auth credentials: /consumers/{}/key-auth[/{id|key}], /key-auths[/{id|key}], /key-auths/{}/consumer
import type { Router } from './router.ts';
import { registerForeignEntity, registerResource, type AdminContext } from './crud.ts';

export function registerKeyAuth(router: Router, ctx: AdminContext): void {
  registerResource(router, ctx, {
    entity: 'keyauth_credentials',
    collection: '/consumers/:consumers/key-auth',
    param: 'keyauth_credentials',
    parent: { entity: 'consumers', param: 'consumers', field: 'consumer' },
  });
  registerResource(router, ctx, {
    entity: 'keyauth_credentials',
    collection: '/key-auths',
    param: 'keyauth_credentials',
    methods: ['list', 'get', 'put', 'patch', 'delete'],
  });
  registerForeignEntity(router, ctx, {
    entity: 'keyauth_credentials',
    path: '/key-auths/:keyauth_credentials/consumer',
    param: 'keyauth_credentials',
    field: 'consumer',
    parent: 'consumers',
    methods: ['get'],
  });
}
