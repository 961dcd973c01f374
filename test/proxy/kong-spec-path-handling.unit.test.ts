// Kong/kong spec/01-unit/08-router_spec.lua "#slash handling" for router_flavor
// traditional_compatible: every row of Kong's path_handling table
// (spec/fixtures/router_path_handling_tests.lua), expanded as Kong expands it, that Kong runs
// for this flavor (path_handling v0), once with the route's plain path and once with the same
// path as a regex (`~/[0]?route`), as Kong's two loops do.
import { describe, expect, it } from 'vitest';
import type { Route, Service } from '../../src/entities/types.ts';
import { Router } from '../../src/proxy/router.ts';
import { normalizePath } from '../../src/entities/uri-normalize.ts';
import { route, service } from '../support/proxy-fixtures.ts';

const SPEC = '01-unit/08-router_spec.lua';
type Row = [servicePath: string, routePath: string | null, strip: boolean | boolean[], handling: string | string[], request: string, expected: string];

// service_path, route_path, strip_path, path_handling, request_path, expected_path
const TABLE: Row[] = [
  ['/', '/', [false, true], ['v0', 'v1'], '/', '/'],
  ['/', '/', [false, true], ['v0', 'v1'], '/route', '/route'],
  ['/', '/', [false, true], ['v0', 'v1'], '/route/', '/route/'],
  ['/', '/', [false, true], ['v0', 'v1'], '/routereq', '/routereq'],
  ['/', '/', [false, true], ['v0', 'v1'], '/route/req', '/route/req'],
  ['/', '/route', false, ['v0', 'v1'], '/route', '/route'],
  ['/', '/route', false, ['v0', 'v1'], '/route/', '/route/'],
  ['/', '/route', false, ['v0', 'v1'], '/routereq', '/routereq'],
  ['/', '/route', true, ['v0', 'v1'], '/route', '/'],
  ['/', '/route', true, ['v0', 'v1'], '/route/', '/'],
  ['/', '/route', true, ['v0', 'v1'], '/routereq', '/req'],
  ['/', '/route/', false, ['v0', 'v1'], '/route/', '/route/'],
  ['/', '/route/', false, ['v0', 'v1'], '/route/req', '/route/req'],
  ['/', '/route/', true, ['v0', 'v1'], '/route/', '/'],
  ['/', '/route/', true, ['v0', 'v1'], '/route/req', '/req'],
  ['/srv', '/rou', false, 'v0', '/roureq', '/srv/roureq'],
  ['/srv', '/rou', false, 'v1', '/roureq', '/srvroureq'],
  ['/srv', '/rou', true, 'v0', '/roureq', '/srv/req'],
  ['/srv', '/rou', true, 'v1', '/roureq', '/srvreq'],
  ['/srv/', '/rou', false, ['v0', 'v1'], '/rou', '/srv/rou'],
  ['/srv/', '/rou', true, 'v0', '/rou', '/srv'],
  ['/srv/', '/rou', true, 'v1', '/rou', '/srv/'],
  ['/service', '/', [false, true], ['v0', 'v1'], '/', '/service'],
  ['/service', '/', [false, true], 'v0', '/route', '/service/route'],
  ['/service', '/', [false, true], 'v1', '/route', '/serviceroute'],
  ['/service', '/', [false, true], 'v0', '/route/', '/service/route/'],
  ['/service', '/', [false, true], 'v1', '/route/', '/serviceroute/'],
  ['/service', '/', [false, true], 'v0', '/routereq', '/service/routereq'],
  ['/service', '/', [false, true], 'v1', '/routereq', '/serviceroutereq'],
  ['/service', '/', [false, true], 'v0', '/route/req', '/service/route/req'],
  ['/service', '/', [false, true], 'v1', '/route/req', '/serviceroute/req'],
  ['/service', '/route', false, 'v0', '/route', '/service/route'],
  ['/service', '/route', false, 'v1', '/route', '/serviceroute'],
  ['/service', '/route', false, 'v0', '/route/', '/service/route/'],
  ['/service', '/route', false, 'v1', '/route/', '/serviceroute/'],
  ['/service', '/route', false, 'v0', '/routereq', '/service/routereq'],
  ['/service', '/route', false, 'v1', '/routereq', '/serviceroutereq'],
  ['/service', '/route', true, ['v0', 'v1'], '/route', '/service'],
  ['/service', '/route', true, ['v0', 'v1'], '/route/', '/service/'],
  ['/service', '/route', true, 'v0', '/routereq', '/service/req'],
  ['/service', '/route', true, 'v1', '/routereq', '/servicereq'],
  ['/service', '/route/', false, 'v0', '/route/', '/service/route/'],
  ['/service', '/route/', false, 'v1', '/route/', '/serviceroute/'],
  ['/service', '/route/', false, 'v0', '/route/req', '/service/route/req'],
  ['/service', '/route/', false, 'v1', '/route/req', '/serviceroute/req'],
  ['/service', '/route/', true, 'v0', '/route/', '/service/'],
  ['/service', '/route/', true, 'v1', '/route/', '/service'],
  ['/service', '/route/', true, 'v0', '/route/req', '/service/req'],
  ['/service', '/route/', true, 'v1', '/route/req', '/servicereq'],
  ['/service/', '/', [false, true], 'v0', '/route/', '/service/route/'],
  ['/service/', '/', [false, true], 'v1', '/route/', '/service/route/'],
  ['/service/', '/', [false, true], ['v0', 'v1'], '/', '/service/'],
  ['/service/', '/', [false, true], ['v0', 'v1'], '/route', '/service/route'],
  ['/service/', '/', [false, true], ['v0', 'v1'], '/routereq', '/service/routereq'],
  ['/service/', '/', [false, true], ['v0', 'v1'], '/route/req', '/service/route/req'],
  ['/service/', '/route', false, ['v0', 'v1'], '/route', '/service/route'],
  ['/service/', '/route', false, ['v0', 'v1'], '/route/', '/service/route/'],
  ['/service/', '/route', false, ['v0', 'v1'], '/routereq', '/service/routereq'],
  ['/service/', '/route', true, 'v0', '/route', '/service'],
  ['/service/', '/route', true, 'v1', '/route', '/service/'],
  ['/service/', '/route', true, ['v0', 'v1'], '/route/', '/service/'],
  ['/service/', '/route', true, ['v0', 'v1'], '/routereq', '/service/req'],
  ['/service/', '/route/', false, ['v0', 'v1'], '/route/', '/service/route/'],
  ['/service/', '/route/', false, ['v0', 'v1'], '/route/req', '/service/route/req'],
  ['/service/', '/route/', true, ['v0', 'v1'], '/route/', '/service/'],
  ['/service/', '/route/', true, ['v0', 'v1'], '/route/req', '/service/req'],
  ['/', null, [false, true], ['v0', 'v1'], '/', '/'],
  ['/', null, [false, true], ['v0', 'v1'], '/route', '/route'],
  ['/', null, [false, true], ['v0', 'v1'], '/route/', '/route/'],
  ['/service', null, [false, true], ['v0', 'v1'], '/', '/service'],
  ['/service', null, [false, true], 'v0', '/route', '/service/route'],
  ['/service', null, [false, true], 'v1', '/route', '/serviceroute'],
  ['/service', null, [false, true], 'v0', '/route/', '/service/route/'],
  ['/service', null, [false, true], 'v1', '/route/', '/serviceroute/'],
  ['/service/', null, [false, true], ['v0', 'v1'], '/', '/service/'],
  ['/service/', null, [false, true], ['v0', 'v1'], '/route', '/service/route'],
  ['/service/', null, [false, true], ['v0', 'v1'], '/route/', '/service/route/'],
  ['/service', '/route', true, 'v0', '/route./req', '/service/req'],
  ['/service', '/route', true, 'v1', '/route./req', '/servicereq'],
  ['/service/', '/route', true, ['v0', 'v1'], '/route./req', '/service/req'],
  ['/service', '/route', true, 'v0', '/route%2E/req', '/service/req'],
  ['/service', '/route', true, 'v1', '/route%2E/req', '/servicereq'],
  ['/service/', '/route', true, ['v0', 'v1'], '/route%2E/req', '/service/req'],
  ['/service', '/route', true, 'v0', '/route%2e/req', '/service/req'],
  ['/service', '/route', true, 'v1', '/route%2e/req', '/servicereq'],
  ['/service/', '/route', true, ['v0', 'v1'], '/route%2e/req', '/service/req'],
  ['/service', '/route', true, 'v0', '/route../req', '/service/req'],
  ['/service', '/route', true, 'v1', '/route../req', '/servicereq'],
  ['/service/', '/route', true, ['v0', 'v1'], '/route../req', '/service/req'],
  ['/service', '/route', true, 'v0', '/route%2E%2E/req', '/service/req'],
  ['/service', '/route', true, 'v1', '/route%2E%2E/req', '/servicereq'],
  ['/service/', '/route', true, ['v0', 'v1'], '/route%2E%2E/req', '/service/req'],
  ['/service', '/route', true, 'v0', '/route%2e%2E/req', '/service/req'],
  ['/service', '/route', true, 'v1', '/route%2e%2E/req', '/servicereq'],
  ['/service/', '/route', true, ['v0', 'v1'], '/route%2e%2E/req', '/service/req'],
  ['/service', '/route', false, 'v0', '/route./req', '/service/route./req'],
  ['/service', '/route', false, 'v1', '/route./req', '/serviceroute./req'],
  ['/service/', '/route', false, ['v0', 'v1'], '/route./req', '/service/route./req'],
  ['/service', '/route', false, 'v0', '/route%2E/req', '/service/route./req'],
  ['/service', '/route', false, 'v1', '/route%2E/req', '/serviceroute./req'],
  ['/service/', '/route', false, ['v0', 'v1'], '/route%2E/req', '/service/route./req'],
  ['/service', '/route', false, 'v0', '/route%2e/req', '/service/route./req'],
  ['/service', '/route', false, 'v1', '/route%2e/req', '/serviceroute./req'],
  ['/service/', '/route', false, ['v0', 'v1'], '/route%2e/req', '/service/route./req'],
  ['/service', '/route', false, 'v0', '/route../req', '/service/route../req'],
  ['/service', '/route', false, 'v1', '/route../req', '/serviceroute../req'],
  ['/service/', '/route', false, ['v0', 'v1'], '/route../req', '/service/route../req'],
  ['/service', '/route', false, 'v0', '/route%2E%2E/req', '/service/route../req'],
  ['/service', '/route', false, 'v1', '/route%2E%2E/req', '/serviceroute../req'],
  ['/service/', '/route', false, ['v0', 'v1'], '/route%2E%2E/req', '/service/route../req'],
  ['/service', '/route', false, 'v0', '/route%2e%2E/req', '/service/route../req'],
  ['/service', '/route', false, 'v1', '/route%2e%2E/req', '/serviceroute../req'],
  ['/service/', '/route', false, ['v0', 'v1'], '/route%2e%2E/req', '/service/route../req'],
];

interface Case {
  i: number;
  j: number;
  servicePath: string;
  routePath: string | null;
  strip: boolean;
  handling: string;
  request: string;
  expected: string;
}

/** Kong's `line:expand()`: strip_path first, then path_handling. */
function expand(row: Row, i: number): Case[] {
  const [servicePath, routePath, strip, handling, request, expected] = row;
  const out: Case[] = [];
  for (const s of Array.isArray(strip) ? strip : [strip]) {
    for (const h of Array.isArray(handling) ? handling : [handling]) out.push({ i, j: 0, servicePath, routePath, strip: s, handling: h, request, expected });
  }
  return out.map((c, k) => ({ ...c, j: k + 1 }));
}

function upstreamUri(svc: Service, r: Route, host: string, request: string): string | undefined {
  const router = new Router([r], () => svc);
  const m = router.match({ method: 'GET', host, port: 8000, path: normalizePath(request), headers: {} });
  expect(m?.route.id).toBe(r.id);
  return m?.upstreamPath;
}

describe('#slash handling, plain', () => {
  TABLE.forEach((row, idx) => {
    for (const t of expand(row, idx + 1)) {
      if (t.handling !== 'v0') continue;
      const target = t.routePath ? `uri ${t.routePath}` : `host localbin-${t.i}-${t.j}.com`;
      it(`${SPEC}: (${t.i}-${t.j}) plain, ${t.servicePath} with ${target}, strip = ${t.strip ? 'on' : 'off'}, ${t.handling}. req: ${t.request}`, () => {
        const host = `localbin-${t.i}-${t.j}.com`;
        const svc = service({ name: 'service-invalid', path: t.servicePath });
        const r = route(svc, { strip_path: t.strip, path_handling: 'v0', hosts: [host], paths: t.routePath ? [t.routePath] : null });
        expect(upstreamUri(svc, r, host, t.request)).toBe(t.expected);
      });
    }
  });
});

describe('#slash handling, regex', () => {
  TABLE.forEach((row, idx) => {
    if (!row[1]) return;
    for (const t of expand(row, idx + 1)) {
      if (t.handling !== 'v0') continue;
      const regex = `~/[0]?${t.routePath!.slice(1)}`;
      it(`${SPEC}: (${t.i}-${t.j}) regex, ${t.servicePath} with ${regex}, strip = ${t.strip ? 'on' : 'off'}, ${t.handling}. req: ${t.request}`, () => {
        const host = `localbin-${t.i}.com`;
        const svc = service({ name: 'service-invalid', path: t.servicePath });
        const r = route(svc, { strip_path: t.strip, path_handling: 'v0', hosts: [host], paths: [regex] });
        expect(upstreamUri(svc, r, host, t.request)).toBe(t.expected);
      });
    }
  });
});
