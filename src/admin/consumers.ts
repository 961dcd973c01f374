// /consumers, /consumers/{id|username}; GET /consumers?custom_id=x like Kong.
import type { Router } from './router.ts';
import { registerResource, type AdminContext } from './crud.ts';

export function registerConsumers(router: Router, ctx: AdminContext): void {
  registerResource(router, ctx, { entity: 'consumers', collection: '/consumers', param: 'consumers', queryFilters: ['custom_id', 'username'] });
}
