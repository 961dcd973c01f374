// Kong/kong spec/02-integration/04-admin_api/08-targets_routes_spec.lua, one `it` per Kong `it`.
// The /health and /targets/{target}/(un)healthy cases are not here: see docs/kong-compatibility.md.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { contentTypes, startKongSpecAdmin, type KongSpecAdmin } from './harness.ts';

const SPEC = '08-targets_routes_spec.lua';
const WEIGHT_DEFAULT = 100;
const WEIGHT_MIN = 0;
const WEIGHT_MAX = 65535;
const DEFAULT_PORT = 8000;
let k: KongSpecAdmin;
beforeAll(async () => {
  k = await startKongSpecAdmin('ktargets');
});
afterAll(async () => {
  await k?.close();
});
const itContentTypes = (title: string, fn: (type: string) => () => Promise<void>) => contentTypes(SPEC, it)(title, fn, { multipart: true });
const upstreamWith = async (targets: [string, number][]) => {
  const upstream = await k.bp.upstreams();
  const made = [];
  for (const [target, weight] of targets) made.push(await k.bp.targets({ target, weight, upstream: { id: upstream.id } }));
  return { upstream, targets: made };
};

it(`${SPEC}: returns a 404`, async () => {
  const res = await k.get('/targets');
  expect(res.status).toBe(404);
  expect(res.body.message).toBe('Not found');
});

describe('/upstreams/{upstream}/targets/ POST', () => {
  itContentTypes('creates a target with defaults', (type) => async () => {
    const upstream = await k.bp.upstreams({ slots: 10 });
    const res = await k.post(`/upstreams/${upstream.name}/targets/`, { type, body: { target: 'konghq.test' } });
    expect(res.status).toBe(201);
    expect(res.body.target).toBe(`konghq.test:${DEFAULT_PORT}`);
    expect(typeof res.body.created_at).toBe('number');
    expect(typeof res.body.id).toBe('string');
    expect(res.body.weight).toBe(WEIGHT_DEFAULT);
  });

  itContentTypes('creates a target without defaults', (type) => async () => {
    const upstream = await k.bp.upstreams({ slots: 10 });
    const res = await k.post(`/upstreams/${upstream.name}/targets/`, { type, body: { target: 'konghq.test:123', weight: 99 } });
    expect(res.status).toBe(201);
    expect(res.body.target).toBe('konghq.test:123');
    expect(res.body.weight).toBe(99);
  });

  itContentTypes('creates a target with weight = 0', (type) => async () => {
    const upstream = await k.bp.upstreams({ slots: 10 });
    const res = await k.post(`/upstreams/${upstream.name}/targets/`, { type, body: { target: 'zero.weight.test:8080', weight: 0 } });
    expect(res.status).toBe(201);
    expect(res.body.target).toBe('zero.weight.test:8080');
    expect(res.body.weight).toBe(0);
    const res2 = await k.get(`/upstreams/${upstream.name}/targets/zero.weight.test:8080`);
    expect(res2.status).toBe(200);
    expect(res2.body).toEqual(res.body);
  });

  it(`${SPEC}: handles malformed JSON body`, async () => {
    const upstream = await k.bp.upstreams({ slots: 10 });
    const res = await k.post(`/upstreams/${upstream.name}/targets/`, { body: '{"hello": "world"' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ message: 'Cannot parse JSON body' });
  });

  itContentTypes('handles invalid input', (type) => async () => {
    const upstream = await k.bp.upstreams({ slots: 10 });
    let res = await k.post(`/upstreams/${upstream.name}/targets/`, { type, body: { weight: WEIGHT_MIN } });
    expect(res.status).toBe(400);
    expect(res.body.name).toBe('schema violation');
    expect(res.body.fields).toEqual({ target: 'required field missing' });
    res = await k.post(`/upstreams/${upstream.name}/targets/`, { type, body: { target: 'some invalid host name' } });
    expect(res.status).toBe(400);
    expect(res.body.fields).toEqual({ target: 'Invalid target; not a valid hostname or ip address' });
    res = await k.post(`/upstreams/${upstream.name}/targets/`, { type, body: { target: 'konghq.test', weight: WEIGHT_MAX + 1 } });
    expect(res.status).toBe(400);
    expect(res.body.fields).toEqual({ weight: `value should be between 0 and ${WEIGHT_MAX}` });
  });

  for (const method of ['PUT', 'PATCH', 'DELETE']) {
    itContentTypes(`returns 405 on ${method}`, (type) => async () => {
      const upstream = await k.bp.upstreams({ slots: 10 });
      const res = await k.send(method, `/upstreams/${upstream.name}/targets/`, { type, body: { target: 'konghq.test' } });
      expect(res.status).toBe(405);
    });
  }

  itContentTypes('fails to create duplicated targets', (type) => async () => {
    const upstream = await k.bp.upstreams({ slots: 10 });
    let res = await k.post(`/upstreams/${upstream.name}/targets/`, { type, body: { target: 'single-target.test:8080', weight: 1 } });
    expect(res.status).toBe(201);
    expect(res.body.target).toBe('single-target.test:8080');
    expect(res.body.weight).toBe(1);
    res = await k.post(`/upstreams/${upstream.name}/targets/`, { type, body: { target: 'single-target.test:8080', weight: 100 } });
    expect(res.status).toBe(409);
  });
});

describe('/upstreams/{upstream}/targets/ GET', () => {
  let upstream: Record<string, any>;
  let apiMap: Record<string, unknown>;
  const toMap = (list: Record<string, any>[]) => Object.fromEntries(list.map((t) => [t.target, t]));
  beforeEach(async () => {
    const made = await upstreamWith([
      ['api-1:80', 10],
      ['api-2:80', 0],
      ['api-3:80', 50],
      ['api-4:80', 10],
    ]);
    upstream = made.upstream;
    apiMap = toMap(made.targets);
  });

  for (const append of ['', '/']) {
    it(`${SPEC}: shows all targets with ${append === '' ? 'no' : ''} ending slash`, async () => {
      const res = await k.get(`/upstreams/${upstream.name}/targets${append}`);
      expect(res.status).toBe(200);
      expect(res.body.data).toHaveLength(4);
      expect(toMap(res.body.data)).toEqual(apiMap);
    });
  }

  it(`${SPEC}: data property is an empty array`, async () => {
    const empty = await k.bp.upstreams();
    const res = await k.get(`/upstreams/${empty.name}/targets`);
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/"data":\[\]/);
  });
});

describe('/upstreams/{upstream}/targets/all/ GET', () => {
  let upstream: Record<string, any>;
  beforeEach(async () => {
    upstream = (await upstreamWith(Array.from({ length: 10 }, (_, i) => [`api-${i + 1}:80`, 100] as [string, number]))).upstream;
  });

  it(`${SPEC}: retrieves the first page`, async () => {
    const res = await k.get(`/upstreams/${upstream.name}/targets/all`);
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(10);
  });

  it(`${SPEC}: offset is a string`, async () => {
    const res = await k.get(`/upstreams/${upstream.name}/targets/all`, { query: { size: 3 } });
    expect(res.status).toBe(200);
    expect(typeof res.body.offset).toBe('string');
  });

  it(`${SPEC}: next url ends with /targets/all`, async () => {
    const res = await k.get(`/upstreams/${upstream.name}/targets/all`, { query: { size: 3 } });
    expect(res.status).toBe(200);
    expect(res.body.next).toBe(`/upstreams/${upstream.name}/targets/all?offset=${encodeURIComponent(res.body.offset)}`);
  });

  it(`${SPEC}: paginates a set`, async () => {
    const pages: unknown[] = [];
    let offset: string | undefined;
    for (let i = 1; i <= 4; i++) {
      const res = await k.get(`/upstreams/${upstream.name}/targets/all`, { query: offset ? { size: 3, offset } : { size: 3 } });
      expect(res.status).toBe(200);
      expect(res.body.data).toHaveLength(i < 4 ? 3 : 1);
      if (i > 1) expect(res.body).not.toEqual(pages[i - 2]);
      offset = res.body.offset;
      pages.push(res.body);
    }
  });

  it(`${SPEC}: ignores filters`, async () => {
    expect((await k.get(`/upstreams/${upstream.name}/targets/all`, { query: { foo: 'bar' } })).status).toBe(200);
  });

  it(`${SPEC}: ignores an invalid body`, async () => {
    expect((await k.get(`/upstreams/${upstream.name}/targets/all`, { body: 'this fails if decoded as json' })).status).toBe(200);
  });

  it(`${SPEC}: data property is an empty array (/targets/all)`, async () => {
    const empty = await k.bp.upstreams();
    const res = await k.get(`/upstreams/${empty.name}/targets/all`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: [], next: null });
    expect(res.text).toMatch(/"data":\[\]/);
  });
});

describe('/upstreams/{upstream}/targets/{target}', () => {
  let upstream: Record<string, any>;
  let target: Record<string, any>;
  beforeEach(async () => {
    const made = await upstreamWith([
      ['api-1:80', 10],
      ['api-2:80', 10],
    ]);
    upstream = made.upstream;
    target = made.targets[1]!;
  });

  it(`${SPEC}: returns target entity`, async () => {
    const res = await k.get(`/upstreams/${upstream.name}/targets/${target.target}`);
    expect(res.status).toBe(200);
    const { tags: _t, updated_at: _u, ...json } = res.body;
    const { tags: _t2, updated_at: _u2, ...expected } = target;
    expect(json).toEqual(expected);
  });

  it(`${SPEC}: is allowed and works`, async () => {
    let res = await k.patch(`/upstreams/${upstream.name}/targets/${target.target}`, { body: { weight: 659 } });
    expect(res.status).toBe(200);
    expect(typeof res.body.id).toBe('string');
    expect(res.body.target).toBe(target.target);
    expect(res.body.weight).toBe(659);
    expect(target.updated_at).toBeLessThan(res.body.updated_at);
    res = await k.get(`/upstreams/${upstream.name}/targets/${target.target}`);
    expect(res.status).toBe(200);
    expect(res.body.weight).toBe(659);
  });

  it(`${SPEC}: updates target (by id)`, async () => {
    target.target = `${target.target}1`;
    let res = await k.put(`/upstreams/${upstream.name}/targets/${target.id}`, { body: { target: target.target } });
    expect(res.status).toBe(200);
    res = await k.get(`/upstreams/${upstream.name}/targets/${target.id}`);
    expect(res.status).toBe(200);
    const { tags: _t, updated_at: _u, ...json } = res.body;
    const { tags: _t2, updated_at: _u2, ...expected } = target;
    expect(json).toEqual(expected);
  });

  it(`${SPEC}: updates target (by target)`, async () => {
    let res = await k.put(`/upstreams/${upstream.name}/targets/${target.target}`, { body: { target: `${target.target}1` } });
    expect(res.status).toBe(200);
    const tgt = res.body;
    expect((await k.get(`/upstreams/${upstream.name}/targets/${target.target}`)).status).toBe(404);
    res = await k.get(`/upstreams/${upstream.name}/targets/${target.target}1`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(tgt);
  });

  for (const by of ['target', 'id'] as const) {
    it(`${SPEC}: method DELETE actually deletes targets (by ${by})`, async () => {
      let res = await k.get(`/upstreams/${upstream.name}/targets/all`);
      expect(res.body.data).toHaveLength(2);
      expect((await k.delete(`/upstreams/${upstream.name}/targets/${target[by]}`)).status).toBe(204);
      res = await k.get(`/upstreams/${upstream.name}/targets/all`);
      expect(res.body.data).toHaveLength(1);
      res = await k.get(`/upstreams/${upstream.name}/targets`);
      expect(res.status).toBe(200);
      expect(res.body.data).toHaveLength(1);
      expect(res.body.data[0].target).toBe('api-1:80');
    });
  }
});

describe('/upstreams/{upstream}/targets/{target}/(un)healthy not available in hybrid mode', () => {
  it(`${SPEC}: healthcheck endpoints not included in /endpoints`, async () => {
    // A control plane's Admin API is built without the proxy's health routes
    // (src/node/control-plane.ts registers none), as this one is.
    const res = await k.get('/endpoints');
    expect(res.status).toBe(200);
    for (const p of ['/upstreams/{upstreams}/targets/{targets}/healthy', '/upstreams/{upstreams}/targets/{targets}/unhealthy']) {
      expect(res.body.data).not.toContain(p);
    }
  });
});
