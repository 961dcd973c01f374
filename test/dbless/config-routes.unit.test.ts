// /config on a node with a database answers as Kong's does there (kong/api/routes/config.lua).
import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { expect, test } from 'vitest';
import { Router, type AdminRequest } from '../../src/admin/router.ts';
import { registerConfigUnavailable } from '../../src/admin/config-routes.ts';

function request(method: string): AdminRequest {
  const raw = Object.assign(Readable.from([]), { headers: {} }) as unknown as IncomingMessage;
  return { method, path: '/config', params: {}, query: new URLSearchParams(), headers: {}, raw, body: async () => ({}), bodyKind: () => 'none' };
}

test.each(['GET', 'POST'])('%s /config with a database: 400, only available without a database', async (method) => {
  const router = new Router();
  registerConfigUnavailable(router);
  const m = router.match(method, '/config');
  expect(m.kind).toBe('found');
  if (m.kind !== 'found') return;
  expect(await m.handler(request(method))).toEqual({ status: 400, body: { message: 'this endpoint is only available when Kong is configured to not use a database' } });
});
