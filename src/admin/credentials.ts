// The three endpoint groups Kong generates for a consumer's credentials (kong/api/endpoints.lua
// with admin_api_name / admin_api_nested_name): nested under the consumer, the top-level
// collection (a POST there names its consumer in the body), and the credential's consumer. Plugins declare theirs (PluginPackage.api); the Admin API server registers them.
import type { Router } from './router.ts';
import type { CredentialEndpoints } from '../plugins/package.ts';
import { pluginEndpoints } from '../plugins/registry.ts';
import { entities } from '../entities/index.ts';
import type { EntityName } from '../entities/types.ts';
import { registerForeignEntity, registerResource, type AdminContext } from './crud.ts';

export type CredentialSpec = Pick<CredentialEndpoints, 'entity' | 'nested' | 'collection' | 'nestedKey'>;

export function registerConsumerCredential(router: Router, ctx: AdminContext, spec: CredentialSpec): void {
  registerResource(router, ctx, {
    entity: spec.entity,
    collection: `/consumers/:consumers/${spec.nested}`,
    param: spec.entity,
    parent: { entity: 'consumers', param: 'consumers', field: 'consumer' },
    endpointKey: spec.nestedKey,
  });
  registerResource(router, ctx, {
    entity: spec.entity,
    collection: spec.collection,
    param: spec.entity,
  });
  registerForeignEntity(router, ctx, {
    entity: spec.entity,
    path: `${spec.collection}/:${spec.entity}/consumer`,
    param: spec.entity,
    field: 'consumer',
    parent: 'consumers',
    methods: ['get'],
  });
}

/**
 * The plugins' credential endpoints as a data plane's read-only Admin API reads its URLs: the
 * nested name and the collection both name the entity, found by its endpoint key, or by
 * `nestedKey` only under its consumer.
 */
export function credentialSegments(): Record<string, { entity: EntityName; key?: string; nestedKey?: string; parentField: string }> {
  return Object.fromEntries(
    pluginEndpoints().flatMap((e) => {
      const segment = { entity: e.entity, key: entities[e.entity].endpointKey, nestedKey: e.nestedKey, parentField: e.parentField };
      return [
        [e.nested, segment],
        [e.collection.replace(/^\//, ''), segment],
      ];
    }),
  );
}
