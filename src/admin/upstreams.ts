// /upstreams, /upstreams/{id|name}, /upstreams/{}/targets[/{id|target}]
import type { Router } from './router.ts';
import { registerResource, type AdminContext } from './crud.ts';
import { normaliseTarget } from '../entities/targets.ts';

export function registerUpstreams(router: Router, ctx: AdminContext): void {
  registerResource(router, ctx, { entity: 'upstreams', collection: '/upstreams', param: 'upstreams' });
  registerResource(router, ctx, {
    entity: 'targets',
    collection: '/upstreams/:upstreams/targets',
    param: 'targets',
    parent: { entity: 'upstreams', param: 'upstreams', field: 'upstream' },
    normaliseKey: (raw) => normaliseTarget(raw) ?? raw,
  });
}
