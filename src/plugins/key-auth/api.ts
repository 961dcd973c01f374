// key-auth credentials: /consumers/{}/key-auth[/{id|key}], /key-auths[/{id|key}], /key-auths/{}/consumer
import type { Router } from '../../admin/router.ts';
import type { AdminContext } from '../../admin/crud.ts';
import { registerConsumerCredential } from '../../admin/credentials.ts';

export function registerKeyAuth(router: Router, ctx: AdminContext): void {
  registerConsumerCredential(router, ctx, { entity: 'keyauth_credentials', nested: 'key-auth', collection: '/key-auths' });
}
