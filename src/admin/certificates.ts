// Kong's TLS endpoints (kong/api/routes/certificates.lua, snis.lua and the generated ones):
// /certificates[/{id or SNI name}] with the `snis` shorthand, /certificates/{}/snis[/{}],
// /snis[/{id|name}], /ca_certificates[/{id}]. A certificate is answered with its SNI names.
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { Router, type AdminRequest, type AdminResponse, type Handler } from './router.ts';
import { registerResource, type AdminContext } from './crud.ts';
import { coerceToSchema } from './form.ts';
import { entities } from '../entities/index.ts';
import { KongError, badRequest, notFound } from '../entities/errors.ts';
import { isUuid } from '../entities/fields.ts';
import type { ChangeEvent } from '../entities/types.ts';
import { deleteEntity } from '../db/write.ts';
import { selectEntity } from '../db/read.ts';
import { sniNamesOf, writeCertificate, type CertWrite } from '../db/certificates.ts';
import { traceChanges } from '../sync/trace.ts';

const sniNotFound = () => new KongError(404, { message: 'SNI not found' });

/** Kong's prepare_params: a non-UUID names an SNI, which stands for its certificate. */
async function resolveCertificate(ctx: AdminContext, raw: string, method: string): Promise<{ id: string; name?: string }> {
  if (isUuid(raw)) return { id: raw.toLowerCase() };
  const sni = await selectEntity(ctx.pool, 'snis', { field: 'name', value: raw });
  if (sni) return { id: (sni.certificate as { id: string }).id, name: raw };
  if (method !== 'PUT') throw sniNotFound();
  return { id: randomUUID(), name: raw };
}

/** Kong's prepare_args: form values of `snis`, and on PUT the URL's name joins the list. */
function prepareSnis(body: Record<string, unknown>, method: string, name: string | undefined): void {
  let snis = body.snis;
  if (typeof snis === 'string') snis = [snis];
  if (Array.isArray(snis) && name && method === 'PUT' && !snis.includes(name)) snis = [...snis, name];
  if (snis !== undefined) body.snis = snis;
}

async function propagate(ctx: AdminContext, events: ChangeEvent[]): Promise<void> {
  if (events.length === 0) return;
  traceChanges('commit', events);
  try {
    await ctx.onChanges(events);
  } catch (err) {
    ctx.logger?.warn({ err: (err as Error).message, events: events.length }, 'change propagation after commit failed');
  }
}

async function certBody(req: AdminRequest): Promise<Record<string, unknown>> {
  const body = await req.body();
  return req.bodyKind() === 'form' ? coerceToSchema(entities.certificates.schema as z.ZodType, body) : body;
}

async function write(ctx: AdminContext, how: CertWrite, body: Record<string, unknown>, status: number): Promise<AdminResponse> {
  if (ctx.readOnly) throw badRequest(ctx.readOnly);
  const result = await writeCertificate(ctx.pool, how, body, { nodeId: ctx.nodeId });
  await propagate(ctx, result.events);
  if (result.failure) throw result.failure;
  if (!result.entity) throw notFound();
  return { status, body: result.entity };
}

async function withSnis(ctx: AdminContext, certs: Record<string, unknown>[]): Promise<void> {
  const names = await sniNamesOf(ctx.pool, certs.map((c) => c.id as string));
  for (const c of certs) c.snis = names.get(c.id as string) ?? [];
}

/** The generic handler registered on `inner` for one method and pattern. */
function handlerOf(inner: Router, method: string, pattern: string): Handler {
  const m = inner.match(method, pattern);
  if (m.kind !== 'found') throw new Error(`no inner admin route ${method} ${pattern}`);
  return m.handler;
}

function registerCertificateRoutes(router: Router, ctx: AdminContext, inner: Router): void {
  const list = handlerOf(inner, 'GET', '/certificates');
  router.add('GET', '/certificates', async (req) => {
    const res = await list(req);
    await withSnis(ctx, (res.body as { data: Record<string, unknown>[] }).data);
    return res;
  });
  router.add('POST', '/certificates', async (req) => write(ctx, { kind: 'insert' }, await certBody(req), 201));
  router.add('GET', '/certificates/:certificates', async (req) => {
    const { id } = await resolveCertificate(ctx, req.params.certificates!, 'GET');
    const cert = await selectEntity(ctx.pool, 'certificates', { id });
    if (!cert) throw notFound();
    await withSnis(ctx, [cert]);
    return { status: 200, body: cert };
  });
  for (const method of ['PUT', 'PATCH'] as const) {
    router.add(method, '/certificates/:certificates', async (req) => {
      const { id, name } = await resolveCertificate(ctx, req.params.certificates!, method);
      const body = await certBody(req);
      prepareSnis(body, method, name);
      if (method === 'PUT') {
        delete body.created_at;
        delete body.updated_at;
      }
      return write(ctx, { kind: method === 'PUT' ? 'upsert' : 'update', id }, body, 200);
    });
  }
  router.add('DELETE', '/certificates/:certificates', async (req) => {
    if (ctx.readOnly) throw badRequest(ctx.readOnly);
    const { id } = await resolveCertificate(ctx, req.params.certificates!, 'DELETE');
    const result = await deleteEntity(ctx.pool, 'certificates', { id }, { nodeId: ctx.nodeId });
    await propagate(ctx, result.events);
    return { status: 204 };
  });
}

/** `/certificates/{id or SNI name}/snis[/{}]`: the generic nested endpoints, the name resolved first. */
function registerNestedSnis(router: Router, ctx: AdminContext, inner: Router): void {
  for (const { method, pattern } of inner.list()) {
    if (!pattern.startsWith('/certificates/:certificates/snis')) continue;
    const generic = handlerOf(inner, method, pattern);
    router.add(method, pattern, async (req) => {
      const { id } = await resolveCertificate(ctx, req.params.certificates!, method);
      return generic({ ...req, params: { ...req.params, certificates: id } });
    });
  }
}

export function registerCertificates(router: Router, ctx: AdminContext): void {
  const inner = new Router();
  registerResource(inner, ctx, { entity: 'certificates', collection: '/certificates', param: 'certificates', methods: ['list'] });
  registerResource(inner, ctx, {
    entity: 'snis',
    collection: '/certificates/:certificates/snis',
    param: 'snis',
    parent: { entity: 'certificates', param: 'certificates', field: 'certificate' },
  });
  registerCertificateRoutes(router, ctx, inner);
  registerNestedSnis(router, ctx, inner);
  registerResource(router, ctx, { entity: 'snis', collection: '/snis', param: 'snis' });
  registerResource(router, ctx, {
    entity: 'ca_certificates',
    collection: '/ca_certificates',
    param: 'ca_certificates',
    methods: ['list', 'create', 'get', 'put', 'patch'],
  });
  router.add('DELETE', '/ca_certificates/:ca_certificates', async (req) => {
    if (ctx.readOnly) throw badRequest(ctx.readOnly);
    const raw = req.params.ca_certificates!;
    if (!isUuid(raw)) return { status: 204 };
    const id = raw.toLowerCase();
    await refuseIfCaReferenced(ctx, id);
    const result = await deleteEntity(ctx.pool, 'ca_certificates', { id }, { nodeId: ctx.nodeId });
    await propagate(ctx, result.events);
    return { status: 204 };
  });
}

/** Kong's check_ca_reference: a CA a service still trusts is not deleted (code 19). */
async function refuseIfCaReferenced(ctx: AdminContext, id: string): Promise<void> {
  const { rows } = await ctx.pool.query<{ id: string }>('SELECT id FROM services WHERE $1::uuid = ANY(ca_certificates) ORDER BY id LIMIT 1', [id]);
  if (rows[0]) {
    throw new KongError(400, { code: 19, name: 'referenced by others', message: `ca certificate ${id} is still referenced by services (id = ${rows[0].id})` });
  }
}
