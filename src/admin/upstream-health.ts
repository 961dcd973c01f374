// Kong's balancer health endpoints (kong/api/routes/upstreams.lua): GET /upstreams/{u}/health
// and PUT /upstreams/{u}/targets/{t}/healthy|unhealthy. The verdicts live in the node's proxy
// (its health checker in the primary, shared with every worker); the composition root hands
// them in, so only a node that proxies registers these routes (Kong's control plane has none).
import type pg from 'pg';
import type { Router, AdminRequest } from './router.ts';
import { keyOrNotFound } from './crud.ts';
import { notFound } from '../entities/errors.ts';
import { selectEntity } from '../db/read.ts';
import { isUuid } from '../entities/fields.ts';
import { normaliseTarget } from '../entities/targets.ts';

export interface TargetVerdict {
  upstream: string;
  target: string;
  healthy: boolean;
}

/** The node's verdicts: what the proxy's health checker knows, and a manual override. */
export interface UpstreamHealthSource {
  reports(): TargetVerdict[];
  set(verdict: TargetVerdict): void;
}

type Rec = Record<string, unknown>;

/** Kong's healthchecks are off when no active interval and no passive threshold is set. */
function checksOn(upstream: Rec): boolean {
  const hc = (upstream.healthchecks ?? {}) as { active?: Rec; passive?: Rec };
  const num = (v: unknown) => (typeof v === 'number' ? v : 0);
  const active = hc.active as { healthy?: Rec; unhealthy?: Rec } | undefined;
  const passive = hc.passive as { healthy?: Rec; unhealthy?: Rec } | undefined;
  const activeOn = num(active?.healthy?.interval) > 0 || num(active?.unhealthy?.interval) > 0;
  const u = passive?.unhealthy ?? {};
  const passiveOn = num(passive?.healthy?.successes) > 0 || num(u.tcp_failures) > 0 || num(u.http_failures) > 0 || num(u.timeouts) > 0;
  return activeOn || passiveOn;
}

function splitTarget(target: string): { ip: string; port: number } {
  const i = target.lastIndexOf(':');
  return { ip: target.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(target.slice(i + 1)) };
}

/** How the balancer names a target: `host:port`, an IPv6 address without its brackets. */
function balancerKey(target: string): string {
  const { ip, port } = splitTarget(target);
  return `${ip}:${port}`;
}

export function registerUpstreamHealth(router: Router, deps: { pool: pg.Pool; nodeId: string; health: () => UpstreamHealthSource | null }): void {
  const upstreamOf = async (req: AdminRequest) => {
    const found = await selectEntity(deps.pool, 'upstreams', keyOrNotFound('upstreams', req.params.upstreams!));
    if (!found) throw notFound();
    return found;
  };

  router.add('GET', '/upstreams/:upstreams/health', async (req) => {
    const upstream = await upstreamOf(req);
    const verdicts = new Map((deps.health()?.reports() ?? []).filter((r) => r.upstream === upstream.id).map((r) => [r.target, r.healthy]));
    const on = checksOn(upstream);
    // Kong lists the newest target first.
    const { rows } = await deps.pool.query('SELECT id FROM targets WHERE upstream_id = $1::uuid ORDER BY created_at DESC, id DESC', [upstream.id]);
    const data = [];
    for (const { id } of rows) {
      const t = await selectEntity(deps.pool, 'targets', { id });
      if (!t) continue;
      const weight = t.weight as number;
      const health = weight === 0 || !on ? 'HEALTHCHECKS_OFF' : verdicts.get(balancerKey(t.target as string)) === false ? 'UNHEALTHY' : 'HEALTHY';
      data.push({ ...t, health, data: { addresses: [{ ...splitTarget(t.target as string), health, weight }] } });
    }
    return { status: 200, body: { node_id: deps.nodeId, data, total: data.length, next: null } };
  });

  for (const [suffix, healthy] of [
    ['healthy', true],
    ['unhealthy', false],
  ] as const) {
    router.add('PUT', `/upstreams/:upstreams/targets/:targets/${suffix}`, async (req) => {
      const upstream = await upstreamOf(req);
      const raw = req.params.targets!;
      const key = isUuid(raw) ? { id: raw.toLowerCase() } : { field: 'target', value: normaliseTarget(raw) ?? raw };
      const target = await selectEntity(deps.pool, 'targets', key, { scope: { field: 'upstream', id: upstream.id as string } });
      if (!target) throw notFound();
      deps.health()?.set({ upstream: upstream.id as string, target: balancerKey(target.target as string), healthy });
      return { status: 204 };
    });
  }
}
