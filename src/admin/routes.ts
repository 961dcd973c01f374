// /routes, /routes/{id|name}, /routes/{}/service
import type { Router } from './router.ts';
import { registerForeignEntity, registerResource, type AdminContext } from './crud.ts';

export function registerRoutes(router: Router, ctx: AdminContext): void {
  registerResource(router, ctx, { entity: 'routes', collection: '/routes', param: 'routes' });
  registerForeignEntity(router, ctx, {
    entity: 'routes',
    path: '/routes/:routes/service',
    param: 'routes',
    field: 'service',
    parent: 'services',
    methods: ['get', 'patch', 'put', 'delete'],
  });
}
