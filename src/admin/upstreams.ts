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
    // kong/api/routes/upstreams.lua: PUT on a target updates it, like PATCH.
    methods: ['list', 'create', 'get', 'patch', 'delete'],
    putIsPatch: true,
  });
  // Kong's /targets/all: every target of the upstream, paginated (the plain list is the same
  // here, since targets are not an append-only log).
  registerResource(router, ctx, {
    entity: 'targets',
    collection: '/upstreams/:upstreams/targets/all',
    param: 'targets',
    parent: { entity: 'upstreams', param: 'upstreams', field: 'upstream' },
    methods: ['list'],
  });
}
