// Kong/kong spec/02-integration/04-admin_api/08-targets_routes_spec.lua: the balancer health
// cases (/upstreams/{u}/health, /upstreams/{u}/targets/{t}/healthy|unhealthy), one `it` per
// Kong `it`. The node's own health checker (the one its proxy workers share) runs in this
// process and follows every write, as a node's does. Kong's DNS mock `custom_localhost`
// (127.0.0.1) is written as 127.0.0.1 here; see docs/kong-compatibility.md for DNS_ERROR.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { startKongSpecAdmin, type KongSpecAdmin } from './harness.ts';
import { registerUpstreamHealth } from '../../../src/admin/upstream-health.ts';
import { NodeHealthChecks } from '../../../src/proxy/balancer/node-health.ts';
import { loadSnapshot } from '../../../src/db/snapshot.ts';
import type { ConfigSnapshot } from '../../../src/entities/types.ts';
import { until } from '../../support/until.ts';

const SPEC = '08-targets_routes_spec.lua';
let k: KongSpecAdmin;
let checks: NodeHealthChecks;
let snapshot: ConfigSnapshot;
beforeAll(async () => {
  k = await startKongSpecAdmin('khealth', {
    routes: (router, pool, nodeId) => {
      registerUpstreamHealth(router, { pool, nodeId, health: () => ({ reports: () => checks.reports(), set: (r) => checks.apply([r]) }) });
    },
    onChanges: async () => {
      snapshot = await loadSnapshot(k.pool);
      checks.reload(snapshot);
    },
  });
  snapshot = await loadSnapshot(k.pool);
  checks = new NodeHealthChecks(() => snapshot, () => {});
});
afterAll(async () => {
  checks?.stop();
  await k?.close();
});

describe('/upstreams/{upstream}/health/', () => {
  let upstream: Record<string, any>;
  const addTargets = async (fmt: (i: number) => string) => {
    const out = [];
    for (let i = 1; i <= 4; i++) {
      const res = await k.post(`/upstreams/${upstream.name}/targets`, { body: { target: fmt(i), weight: 10 } });
      expect(res.status).toBe(201);
      out.push(res.body);
    }
    return out;
  };
  const checkHealth = async (targets: Record<string, any>[], n: number, health: string) => {
    for (const append of ['', '/']) {
      const res = await k.get(`/upstreams/${upstream.name}/health${append}`);
      expect(res.status).toBe(200);
      expect(res.body.node_id).toBe(k.nodeId);
      expect(res.body.data).toHaveLength(n);
      expect(res.body.data[0].id).toBe(targets[3]!.id);
      expect(res.body.data[1].target).toBe(targets[2]!.target);
      expect(res.body.data[2].target).toBe(targets[1]!.target);
      for (const t of res.body.data) {
        for (const a of t.data.addresses) expect(a.health).toBe(health);
        expect(t.health).toBe(health);
      }
    }
  };
  beforeEach(async () => {
    const any = await k.bp.upstreams();
    const res = await k.post('/upstreams', { body: { name: `${any.name}-health` } });
    expect(res.status).toBe(201);
    upstream = res.body;
  });

  it(`${SPEC}: returns HEALTHCHECKS_OFF for targets that resolve`, async () => {
    await addTargets((i) => `127.0.0.1:8${i}`);
    const targets = await addTargets((i) => `localhost:8${i}`);
    await checkHealth(targets, 8, 'HEALTHCHECKS_OFF');
  });

  describe('with healthchecks on', () => {
    beforeEach(async () => {
      const res = await k.patch(`/upstreams/${upstream.name}`, {
        body: { healthchecks: { passive: { healthy: { successes: 1 }, unhealthy: { tcp_failures: 1, http_failures: 1, timeouts: 1 } } } },
      });
      expect(res.status).toBe(200);
    });

    it(`${SPEC}: returns HEALTHY if failure not detected`, async () => {
      const targets = await addTargets((i) => `127.0.0.1:222${i}`);
      await checkHealth(targets, 4, 'HEALTHY');
    });

    it(`${SPEC}: returns UNHEALTHY if failure detected`, async () => {
      const targets = await addTargets((i) => `127.0.0.1:222${i}`);
      const res = await k.put(`/upstreams/${upstream.name}`, { body: { healthchecks: { active: { healthy: { interval: 1 }, unhealthy: { interval: 1, tcp_failures: 1 } } } } });
      expect(res.status).toBe(200);
      await until(
        'the active checks find the targets down',
        async () => {
          try {
            await checkHealth(targets, 4, 'UNHEALTHY');
            return true;
          } catch {
            return undefined;
          }
        },
        15_000,
      );
    });

    for (const title of ['returns HEALTHCHECKS_OFF for target with weight 0', 'returns HEALTHCHECKS_OFF for target with weight 0 (after 0.3 s)']) {
      it(`${SPEC}: ${title}`, async () => {
        expect((await k.post(`/upstreams/${upstream.name}/targets`, { body: { target: '127.0.0.1:2221', weight: 0 } })).status).toBe(201);
        const res = await k.get(`/upstreams/${upstream.name}/health`);
        expect(res.status).toBe(200);
        expect(res.body.data).toHaveLength(1);
        for (const a of res.body.data[0].data.addresses) expect(a.health).toBe('HEALTHCHECKS_OFF');
      });
    }

    it(`${SPEC}: return HEALTHY if weight of target turns from zero to non-zero`, async () => {
      expect((await k.post(`/upstreams/${upstream.name}/targets`, { body: { target: '127.0.0.1:2221', weight: 0 } })).status).toBe(201);
      let res = await k.get(`/upstreams/${upstream.name}/health`);
      expect(res.body.data).toHaveLength(1);
      for (const a of res.body.data[0].data.addresses) expect(a.health).toBe('HEALTHCHECKS_OFF');
      expect((await k.patch(`/upstreams/${upstream.name}/targets/127.0.0.1:2221`, { body: { weight: 10 } })).status).toBe(200);
      res = await k.get(`/upstreams/${upstream.name}/health`);
      expect(res.body.data).toHaveLength(1);
      for (const a of res.body.data[0].data.addresses) expect(a.health).toBe('HEALTHY');
    });
  });
});

describe('/upstreams/{upstream}/targets/{target}/(un)healthy', () => {
  const localhosts = { ipv4: '127.0.0.1', ipv6: '[0000:0000:0000:0000:0000:0000:0000:0001]', hostname: 'localhost' };
  for (const [mode, localhost] of Object.entries(localhosts)) {
    describe(`PUT #${mode}`, () => {
      let upstream: Record<string, any>;
      let target: Record<string, any>;
      let wrongTarget: Record<string, any>;
      let targetPath: string;
      beforeAll(async () => {
        const myTarget = `${localhost}:8192`;
        wrongTarget = await k.bp.targets({ target: myTarget, weight: 10, upstream: { id: (await k.bp.upstreams()).id } });
        upstream = await k.bp.upstreams();
        const patched = await k.patch(`/upstreams/${upstream.id}`, {
          body: { healthchecks: { passive: { healthy: { successes: 1 }, unhealthy: { tcp_failures: 1, http_failures: 1, timeouts: 1 } } } },
        });
        expect(patched.status).toBe(200);
        const res = await k.post(`/upstreams/${upstream.id}/targets`, { body: { target: myTarget, weight: 10, upstream: { id: patched.body.id } } });
        expect(res.status).toBe(201);
        target = res.body;
        targetPath = `/upstreams/${upstream.id}/targets/${target.target}`;
      });

      it(`${SPEC}: checks every combination of valid and invalid upstream and target (#${mode})`, async () => {
        const us = [randomUUID(), 'invalid', upstream.name, upstream.id];
        const ts = [randomUUID(), 'invalid:1234', wrongTarget.id, target.target, target.id];
        for (const [i, u] of us.entries()) {
          for (const [j, t] of ts.entries()) {
            for (const e of ['healthy', 'unhealthy']) {
              const expected = i >= 2 && j >= 3 ? 204 : 404;
              const path = `/upstreams/${u}/targets/${t}/${e}`;
              expect((await k.put(path)).status, `bad status for path ${path}`).toBe(expected);
            }
          }
        }
      });

      const healthOf = async () => {
        const res = await k.get(`/upstreams/${upstream.id}/health`);
        expect(res.status).toBe(200);
        expect(res.body.data[0].target).toBe(target.target);
        return res.body.data[0].health;
      };

      it(`${SPEC}: flips the target status from UNHEALTHY to HEALTHY (#${mode})`, async () => {
        expect((await k.put(`${targetPath}/unhealthy`)).status).toBe(204);
        expect(await healthOf()).toBe('UNHEALTHY');
        expect((await k.put(`${targetPath}/healthy`)).status).toBe(204);
        expect(await healthOf()).toBe('HEALTHY');
      });

      it(`${SPEC}: flips the target status from HEALTHY to UNHEALTHY (#${mode})`, async () => {
        expect((await k.put(`${targetPath}/healthy`)).status).toBe(204);
        expect(await healthOf()).toBe('HEALTHY');
        expect((await k.put(`${targetPath}/unhealthy`)).status).toBe(204);
        expect(await healthOf()).toBe('UNHEALTHY');
      });
    });
  }
});
