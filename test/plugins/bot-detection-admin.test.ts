// bot-detection through the Admin API and a proxy fed by its change events: Kong's
// spec/03-plugins/21-bot-detection/02-invalidations_spec.lua and 03-api_spec.lua translated.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { get } from '../support/proxy-fixtures.ts';
import { pluginStack, type PluginStack } from '../support/plugin-stack.ts';

let s: PluginStack;
let pluginId: string;
const BAD_REGEX = '(https?:\\/\\/.*';

beforeAll(async () => {
  s = await pluginStack('botdet');
  await s.ok('POST', '/services', { name: 'echo', url: `http://127.0.0.1:${s.upstream.port}` });
  await s.ok('POST', '/services/echo/routes', { name: 'bot', paths: ['/bot'] });
  pluginId = (await s.ok('POST', '/routes/bot/plugins', { name: 'bot-detection' })).id;
});

afterAll(async () => {
  await s?.close();
});

const ua = async (agent: string) => (await get(`${s.proxyUrl}/bot`, { headers: { 'user-agent': agent } })).status;

describe('Plugin: bot-detection (hooks) — 02-invalidations_spec.lua', () => {
  test('blocks a newly entered user-agent', async () => {
    expect(await ua('helloworld')).toBe(200);
    await s.ok('PATCH', `/plugins/${pluginId}`, { config: { deny: ['helloworld'] } });
    expect(await ua('helloworld')).toBe(403);
  });
  test('allows a newly entered user-agent', async () => {
    expect(await ua('facebookexternalhit/1.1')).toBe(403);
    await s.ok('PATCH', `/plugins/${pluginId}`, { config: { allow: ['facebookexternalhit/1.1'] } });
    expect(await ua('facebookexternalhit/1.1')).toBe(200);
  });
});

describe('Plugin: bot-detection (API) — 03-api_spec.lua', () => {
  for (const field of ['allow', 'deny']) {
    test(`fails when using a bad regex in ${field}`, async () => {
      const r = await s.call('POST', '/plugins', { name: 'bot-detection', config: { [field]: [BAD_REGEX] } });
      expect(r.status).toBe(400);
      expect(r.body.name).toBe('schema violation');
      expect(r.body.fields.config[field]).toEqual([`not a valid regex: ${BAD_REGEX}`]);
    });
  }
});
