// Kong 3's schema endpoints: GET /schemas/{entity}, POST /schemas/{entity}/validate,
// GET /schemas/plugins/{name}, POST /schemas/plugins/validate. Validation runs the same code
// as a write, without touching the database (no foreign-key or uniqueness checks).
import { z } from 'zod';
import type { Router } from './router.ts';
import { entities, validateEntity, type EntityDef } from '../entities/index.ts';
import type { EntityName } from '../entities/types.ts';
import { KongError, notFound } from '../entities/errors.ts';
import { entitySchema, pluginSchema } from './kong-schema.ts';
import { plugins as registry } from '../plugins/registry.ts';
import { coerceToSchema } from './form.ts';

/** URL names → entity: the entity's own name, as Kong's (a plugin's credentials too). */
function entityOf(name: string): EntityDef | undefined {
  return Object.hasOwn(entities, name) ? entities[name as EntityName] : undefined;
}

export function registerSchemas(router: Router): void {
  router.add('GET', '/schemas/:entity', (req) => {
    const def = entityOf(req.params.entity!);
    if (!def) throw new KongError(404, { message: `No entity named '${req.params.entity}'` });
    return { status: 200, body: { ...entitySchema(def) } };
  });

  router.add('POST', '/schemas/:entity/validate', async (req) => {
    const def = entityOf(req.params.entity!);
    if (!def) throw notFound();
    let body = await req.body();
    if (req.bodyKind() === 'form') body = coerceToSchema(def.schema as z.ZodType, body);
    validateEntity(def, body);
    return { status: 200, body: { message: 'schema validation successful' } };
  });

  router.add('GET', '/schemas/plugins/:name', (req) => {
    const name = req.params.name!;
    const def = Object.hasOwn(registry, name) ? registry[name] : undefined;
    if (!def) throw new KongError(404, { message: `No plugin named '${name}'` });
    return { status: 200, body: { ...pluginSchema(name, def.schema as z.ZodType, { noConsumer: def.noConsumer }), priority: def.priority } };
  });

  router.add('POST', '/schemas/plugins/validate', async (req) => {
    let body = await req.body();
    if (req.bodyKind() === 'form') {
      body = coerceToSchema(entities.plugins.schema as z.ZodType, body);
      const def = typeof body.name === 'string' && Object.hasOwn(registry, body.name) ? registry[body.name] : undefined;
      if (def && body.config && typeof body.config === 'object') body.config = coerceToSchema(def.schema as z.ZodType, body.config as Record<string, unknown>);
    }
    validateEntity(entities.plugins, body);
    return { status: 200, body: { message: 'schema validation successful' } };
  });
}
