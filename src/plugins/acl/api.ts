// acl groups: /consumers/{}/acls[/{id|group}], /acls[/{id}], /acls/{id}/consumer. A group is
// unique per consumer only, so it names an acl under its consumer and nowhere else (Kong).
import type { Router } from '../../admin/router.ts';
import type { AdminContext } from '../../admin/crud.ts';
import { registerConsumerCredential } from '../../admin/credentials.ts';

export function registerAcls(router: Router, ctx: AdminContext): void {
  registerConsumerCredential(router, ctx, { entity: 'acls', nested: 'acls', collection: '/acls', nestedKey: 'group' });
}
