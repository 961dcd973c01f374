// /plugins[/{id}], /plugins/enabled, /plugins/schema/{name}, and the scoped forms under
// services, routes and consumers. Form bodies coerce `config.*` by the plugin's own schema.
import { z } from 'zod';
import type { Router } from './router.ts';
import { registerResource, type AdminContext, type ParentSpec } from './crud.ts';
import { availablePlugins, plugins as registry } from '../plugins/registry.ts';
import { coerce } from './form.ts';
import { notFound } from '../entities/errors.ts';

function coercePluginConfig(body: Record<string, unknown>): Record<string, unknown> {
  const def = typeof body.name === 'string' && Object.hasOwn(registry, body.name) ? registry[body.name] : undefined;
  if (def && body.config && typeof body.config === 'object') body.config = coerce(def.schema as z.ZodType, body.config);
  return body;
}

export function registerPlugins(router: Router, ctx: AdminContext): void {
  router.add('GET', '/plugins/enabled', () => ({ status: 200, body: { enabled_plugins: availablePlugins() } }));
  router.add('GET', '/plugins/schema/:name', (req) => {
    const def = Object.hasOwn(registry, req.params.name!) ? registry[req.params.name!] : undefined;
    if (!def) throw notFound();
    // Kong's own schema DSL is not reproduced; zod 4 renders JSON Schema instead.
    let schema: unknown = null;
    try {
      schema = z.toJSONSchema(def.schema as z.ZodType, { unrepresentable: 'any', io: 'input' });
    } catch {
      schema = null;
    }
    return { status: 200, body: { name: def.name, priority: def.priority, schema } };
  });

  registerResource(router, ctx, { entity: 'plugins', collection: '/plugins', param: 'plugins', coerceForm: coercePluginConfig });
  const parents: [string, ParentSpec][] = [
    ['/services/:services/plugins', { entity: 'services', param: 'services', field: 'service' }],
    ['/routes/:routes/plugins', { entity: 'routes', param: 'routes', field: 'route' }],
    ['/consumers/:consumers/plugins', { entity: 'consumers', param: 'consumers', field: 'consumer' }],
  ];
  for (const [collection, parent] of parents) {
    registerResource(router, ctx, { entity: 'plugins', collection, param: 'plugins', parent, coerceForm: coercePluginConfig });
  }
}
