// Kong's generic entity endpoints (kong/api/endpoints.lua), written once and instantiated
// per resource group: collection GET/POST, entity GET/PUT/PATCH/DELETE, and the nested
// forms scoped to a parent (`/services/{id|name}/routes`).
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Router, AdminRequest, AdminResponse } from './router.ts';
import type { ChangeEvent, EntityName } from '../entities/types.ts';
import { entities } from '../entities/index.ts';
import { KongError, badRequest, invalidSize, notFound } from '../entities/errors.ts';
import { coerceToSchema } from './form.ts';
import { keyFromParam, pageEntities, selectEntity, type EntityKey, type Scope } from '../db/read.ts';
import { deleteEntity, insertEntity, updateEntity, upsertEntity, type WriteResult } from '../db/write.ts';
import { traceChanges } from '../sync/trace.ts';
import { resolveForeign } from './foreign.ts';

export interface AdminContext {
  pool: pg.Pool;
  nodeId: string | null;
  /** Called after commit, before the response: the cache / gossip layer plugs in here. */
  onChanges(events: ChangeEvent[]): Promise<void> | void;
  /** When set, entity writes answer 400 with this message (data planes). */
  readOnly?: string;
  logger?: Logger;
}

export interface ParentSpec {
  entity: EntityName;
  /** URL param holding the parent's id or endpoint key. */
  param: string;
  /** The child's foreign field pointing at the parent. */
  field: string;
}

export interface ResourceSpec {
  entity: EntityName;
  /** Collection path, e.g. `/services/:services/routes`. */
  collection: string;
  /** URL param of the entity in `${collection}/:param`. */
  param: string;
  parent?: ParentSpec;
  /** Which methods to register; default all. */
  methods?: ('list' | 'create' | 'get' | 'put' | 'patch' | 'delete')[];
  /** Normalise the URL's endpoint-key value (targets add the default port). */
  normaliseKey?: (raw: string) => string;
  /** Extra coercion of form bodies (plugin configs by the plugin's schema). */
  coerceForm?: (body: Record<string, unknown>) => Record<string, unknown>;
  /** GET collection filters from the query string (consumers ?custom_id=). */
  queryFilters?: string[];
  /** PUT updates like PATCH and answers 404 for what is not there (Kong's targets). */
  putIsPatch?: boolean;
  /** The field a non-UUID URL value names, when not the entity's endpoint key (a group, unique only under its consumer). */
  endpointKey?: string;
}

const TAGS_AND = /^([\x20-\x2B\x2D\x2E\x30-\x7E\u0080-\u{10FFFF}]+(?:,|$))+$/u;
const TAGS_OR = /^([\x20-\x2B\x2D\x2E\x30-\x7E\u0080-\u{10FFFF}]+(?:\/|$))+$/u;

function parseTags(raw: string | null): { tags?: string[]; tagsCond?: 'and' | 'or' } {
  if (raw === null) return {};
  if (raw === '') {
    throw new KongError(400, { code: 11, name: 'invalid options', message: 'invalid option (tags: cannot be null)', options: { tags: 'cannot be null' } });
  }
  // A byte that is no UTF-8 (decoded to U+FFFD) fails Kong's utf-8 check like a bad separator.
  if (raw.includes('\uFFFD')) throw invalidTagsFilter();
  if (TAGS_AND.test(raw)) return { tags: raw.split(',').filter(Boolean), tagsCond: 'and' };
  if (TAGS_OR.test(raw)) return { tags: raw.split('/').filter(Boolean), tagsCond: 'or' };
  throw invalidTagsFilter();
}

function invalidTagsFilter(): KongError {
  return new KongError(400, {
    code: 11,
    name: 'invalid options',
    message: 'invalid option (tags: invalid filter syntax)',
    options: { tags: 'invalid filter syntax' },
  });
}

function parseSize(raw: string | null): number | undefined {
  if (raw === null) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw invalidSize('size must be a number');
  return n;
}

export function keyOrNotFound(entity: EntityName, raw: string, normalise?: (raw: string) => string, endpointKey?: string): EntityKey {
  const key = keyFromParam(entity, raw, endpointKey ?? entities[entity].endpointKey);
  if (!key) throw notFound();
  if ('field' in key && normalise) key.value = normalise(key.value);
  return key;
}

/** Kong answers a PUT whose URL names an invalid endpoint key with the field's own message. */
function checkKeyValue(entity: EntityName, k: { field: string; value: string }) {
  const shape = (entities[entity].schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
  const parsed = shape?.[k.field]?.safeParse(k.value);
  if (parsed && !parsed.success) throw badRequest(parsed.error.issues[0]?.message ?? `invalid ${k.field}`);
}

/** Resolve the parent named in the URL to its id, or 404. */
async function resolveParent(ctx: AdminContext, parent: ParentSpec, req: AdminRequest): Promise<Scope & { raw: string }> {
  const raw = req.params[parent.param]!;
  const found = await selectEntity(ctx.pool, parent.entity, keyOrNotFound(parent.entity, raw));
  if (!found) throw notFound();
  return { field: parent.field, id: found.id as string, raw };
}

async function entityBody(ctx: AdminContext, req: AdminRequest, spec: ResourceSpec, full: boolean): Promise<Record<string, unknown>> {
  let body = await req.body();
  const form = req.bodyKind() === 'form';
  if (form) {
    body = coerceToSchema(entities[spec.entity].schema as z.ZodType, body);
    if (spec.coerceForm) body = spec.coerceForm(body);
  }
  return resolveForeign(ctx.pool, spec.entity, body, { form, full });
}

async function committed(ctx: AdminContext, result: WriteResult): Promise<void> {
  if (result.events.length === 0) return;
  traceChanges('commit', result.events);
  try {
    await ctx.onChanges(result.events);
  } catch (err) {
    // The write is committed; peers will catch up from cluster_events. Say so, don't fail.
    ctx.logger?.warn({ err: (err as Error).message, events: result.events.length }, 'change propagation after commit failed');
  }
}

function refuseIfReadOnly(ctx: AdminContext) {
  if (ctx.readOnly) throw badRequest(ctx.readOnly);
}

export function registerResource(router: Router, ctx: AdminContext, spec: ResourceSpec): void {
  const m = new Set(spec.methods ?? ['list', 'create', 'get', 'put', 'patch', 'delete']);
  const entityPath = `${spec.collection}/:${spec.param}`;
  const scopeOf = async (req: AdminRequest) => (spec.parent ? resolveParent(ctx, spec.parent, req) : undefined);
  const key = (req: AdminRequest) => keyOrNotFound(spec.entity, req.params[spec.param]!, spec.normaliseKey, spec.endpointKey);

  if (m.has('list')) {
    router.add('GET', spec.collection, async (req): Promise<AdminResponse> => {
      const scope = await scopeOf(req);
      const size = parseSize(req.query.get('size'));
      const offset = req.query.get('offset') ?? undefined;
      // Kong ignores ?tags= on a list scoped to a parent (Kong/kong#6779).
      const tagsOpt = scope ? {} : parseTags(req.query.get('tags'));
      const filters: Record<string, string> = {};
      for (const f of spec.queryFilters ?? []) {
        const v = req.query.get(f);
        // Kong's GET /consumers?custom_id= (kong/api/routes/consumers.lua).
        if (v === '') throw badRequest(`${f} must be an unempty string`);
        if (v !== null) filters[f] = v;
      }
      const page = await pageEntities(ctx.pool, spec.entity, { size, offset, scope, ...tagsOpt, filters });
      let next: string | null = null;
      if (page.offset) {
        const base = spec.collection.replace(/:([a-z_]+)/g, (_, p: string) => encodeURIComponent(req.params[p] ?? ''));
        next = `${base}?offset=${encodeURIComponent(page.offset)}`;
        if (!spec.parent) {
          const tags = req.query.get('tags');
          if (tags !== null) next += `&tags=${encodeURIComponent(tags)}`;
          if (size !== undefined) next += `&size=${req.query.get('size')}`;
        }
      }
      const body: Record<string, unknown> = { data: page.data, next };
      if (page.offset) body.offset = page.offset;
      return { status: 200, body };
    });
  }

  if (m.has('create')) {
    router.add('POST', spec.collection, async (req) => {
      refuseIfReadOnly(ctx);
      const scope = await scopeOf(req);
      const body = await entityBody(ctx, req, spec, true);
      if (scope) body[scope.field] = { id: scope.id };
      const result = await insertEntity(ctx.pool, spec.entity, body, { nodeId: ctx.nodeId });
      await committed(ctx, result);
      return { status: 201, body: result.entity };
    });
  }

  if (m.has('get')) {
    router.add('GET', entityPath, async (req) => {
      const scope = await scopeOf(req);
      const found = await selectEntity(ctx.pool, spec.entity, key(req), { scope });
      if (!found) throw notFound();
      return { status: 200, body: found };
    });
  }

  if (m.has('put')) {
    router.add('PUT', entityPath, async (req) => {
      refuseIfReadOnly(ctx);
      const scope = await scopeOf(req);
      const body = await entityBody(ctx, req, spec, true);
      if (scope) body[scope.field] = { id: scope.id };
      const k = key(req);
      if ('field' in k && !spec.normaliseKey) checkKeyValue(spec.entity, k);
      const result = await upsertEntity(ctx.pool, spec.entity, k, body, { nodeId: ctx.nodeId, scope });
      await committed(ctx, result);
      return { status: 200, body: result.entity };
    });
  }

  if (m.has('patch')) {
    const patch = async (req: AdminRequest): Promise<AdminResponse> => {
      refuseIfReadOnly(ctx);
      const scope = await scopeOf(req);
      const body = await entityBody(ctx, req, spec, false);
      const result = await updateEntity(ctx.pool, spec.entity, key(req), body, { nodeId: ctx.nodeId, scope });
      if (!result.entity) throw notFound();
      await committed(ctx, result);
      return { status: 200, body: result.entity };
    };
    router.add('PATCH', entityPath, patch);
    if (spec.putIsPatch) router.add('PUT', entityPath, patch);
  }

  if (m.has('delete')) {
    router.add('DELETE', entityPath, async (req) => {
      refuseIfReadOnly(ctx);
      const scope = await scopeOf(req);
      const k = keyFromParam(spec.entity, req.params[spec.param]!, spec.endpointKey ?? entities[spec.entity].endpointKey);
      // Kong: a missing entity is 204 at the top level, 404 under a parent (endpoints.lua).
      if (!k) return scope ? notFoundResponse() : { status: 204 };
      if ('field' in k && spec.normaliseKey) k.value = spec.normaliseKey(k.value);
      const result = await deleteEntity(ctx.pool, spec.entity, k, { nodeId: ctx.nodeId, scope });
      if (!result.entity && scope) return notFoundResponse();
      await committed(ctx, result);
      return { status: 204 };
    });
  }
}

const notFoundResponse = (): AdminResponse => ({ status: 404, body: { message: 'Not found' } });

/** `/routes/{id}/service`-style endpoints: the parent an entity points at (Kong's foreign-entity endpoints). */
export function registerForeignEntity(
  router: Router,
  ctx: AdminContext,
  spec: { entity: EntityName; path: string; param: string; field: string; parent: EntityName; methods: ('get' | 'patch' | 'put' | 'delete')[] },
): void {
  const child = async (req: AdminRequest) => {
    const found = await selectEntity(ctx.pool, spec.entity, keyOrNotFound(spec.entity, req.params[spec.param]!));
    if (!found) throw notFound();
    return found;
  };
  const resolve = async (req: AdminRequest) => {
    const ref = (await child(req))[spec.field] as { id?: string } | null | undefined;
    if (!ref?.id) throw notFound();
    return { id: ref.id };
  };
  const parentBody = async (req: AdminRequest) => {
    let body = await req.body();
    if (req.bodyKind() === 'form') body = coerceToSchema(entities[spec.parent].schema as z.ZodType, body);
    return body;
  };
  if (spec.methods.includes('get')) {
    router.add('GET', spec.path, async (req) => {
      const found = await selectEntity(ctx.pool, spec.parent, await resolve(req));
      if (!found) throw notFound();
      return { status: 200, body: found };
    });
  }
  if (spec.methods.includes('patch')) {
    router.add('PATCH', spec.path, async (req) => {
      refuseIfReadOnly(ctx);
      const k = await resolve(req);
      const result = await updateEntity(ctx.pool, spec.parent, k, await parentBody(req), { nodeId: ctx.nodeId });
      if (!result.entity) throw notFound();
      await committed(ctx, result);
      return { status: 200, body: result.entity };
    });
  }
  if (spec.methods.includes('put')) {
    // Replaces the parent the entity points at; Kong answers 404 when it points at none.
    router.add('PUT', spec.path, async (req) => {
      refuseIfReadOnly(ctx);
      const found = await child(req);
      const ref = found[spec.field] as { id?: string } | null | undefined;
      // Kong: an entity that points at nothing gets a new parent, and is pointed at it.
      const k = ref?.id ? { id: ref.id } : { id: randomUUID() };
      const result = await upsertEntity(ctx.pool, spec.parent, k, await parentBody(req), { nodeId: ctx.nodeId });
      await committed(ctx, result);
      if (!ref?.id) {
        const linked = await updateEntity(ctx.pool, spec.entity, { id: found.id as string }, { [spec.field]: { id: k.id } }, { nodeId: ctx.nodeId });
        await committed(ctx, linked);
      }
      return { status: 200, body: result.entity };
    });
  }
  if (spec.methods.includes('delete')) {
    // Kong refuses to delete a parent through its child: 405 once the child is found.
    router.add('DELETE', spec.path, async (req) => {
      await resolve(req);
      throw new KongError(405, { message: 'Method not allowed' });
    });
  }
}
