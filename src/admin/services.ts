// /services, /services/{id|name}, /services/{}/routes[/{}]
import type { Router } from './router.ts';
import { registerResource, type AdminContext } from './crud.ts';

export function registerServices(router: Router, ctx: AdminContext): void {
  registerResource(router, ctx, { entity: 'services', collection: '/services', param: 'services' });
  registerResource(router, ctx, {
    entity: 'routes',
    collection: '/services/:services/routes',
    param: 'routes',
    parent: { entity: 'services', param: 'services', field: 'service' },
  });
}
