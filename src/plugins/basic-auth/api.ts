// basic-auth credentials: /consumers/{}/basic-auth[/{id|username}], /basic-auths[/{id|username}],
// /basic-auths/{}/consumer. Answers carry the stored hash in `password`, as Kong's do.
import type { Router } from '../../admin/router.ts';
import type { AdminContext } from '../../admin/crud.ts';
import { registerConsumerCredential } from '../../admin/credentials.ts';

export function registerBasicAuth(router: Router, ctx: AdminContext): void {
  registerConsumerCredential(router, ctx, { entity: 'basicauth_credentials', nested: 'basic-auth', collection: '/basic-auths' });
}
