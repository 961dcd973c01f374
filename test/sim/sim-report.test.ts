// report.html opened in headless Chromium (Debian's `chromium` package): the page's script must
// draw the timeline and the invariant table and add its #render-ok marker, with no external asset.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, test } from 'vitest';
import { check } from '../../sim/checker/index.ts';
import type { History, HistoryEvent } from '../../sim/history.ts';
import { parseScenario } from '../../sim/scenario.ts';
import { writeReport } from '../../sim/report/write.ts';

const run = promisify(execFile);
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-report-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function history(): History {
  const nodes = ['n1', 'n2', 'n3'];
  const ev: HistoryEvent[] = nodes.map((node) => ({ kind: 'node', t: 0, node, state: 'up' }));
  ev.push({ kind: 'phase', t: 0, phase: 'load' });
  for (let t = 0; t < 20_000; t += 50) ev.push({ kind: 'request', t, latency: 3, path: '/base0/', status: t > 5000 && t < 5120 ? 502 : 200 });
  ev.push({ kind: 'fault', t: 5000, op: 'kill', node: 'n3' }, { kind: 'node', t: 5000, node: 'n3', state: 'down' });
  ev.push({ kind: 'fault', t: 12_000, op: 'restart', node: 'n3' }, { kind: 'node', t: 12_000, node: 'n3', state: 'starting' }, { kind: 'node', t: 14_000, node: 'n3', state: 'up' });
  for (let t = 0; t < 20_000; t += 250) {
    for (const o of nodes) {
      if (o === 'n3' && t > 5000 && t < 14_000) continue;
      const n3 = t > 6500 && t < 14_200 ? 'failed' : t > 5500 && t < 14_200 ? 'suspect' : 'alive';
      const v = Math.floor(t / 2000);
      ev.push({ kind: 'members', t, node: o, ok: true, config_version: v, members: nodes.map((name) => ({ name, status: name === 'n3' ? n3 : 'alive', config_version: v })) });
    }
  }
  ev.push({ kind: 'write', t: 3000, latency: 12, seq: 1, node: 'n1', op: 'create', entity: 'routes', key: 'sim-r1', status: 201, expect: { '/sim/r1/': 200 } });
  ev.push({ kind: 'write', t: 3500, latency: 12, seq: 2, node: 'n2', op: 'create', entity: 'consumers', key: 'sim-c2</script><b>', status: 503, error: 'db down' });
  ev.push({ kind: 'final-db', t: 20_000, entity: 'routes', key: 'sim-r1', present: true });
  return { scenario: 'report-test', seed: 7, startedAt: new Date(0).toISOString(), nodes, events: ev.sort((a, b) => a.t - b.t) };
}

test('report.html renders in headless Chromium without errors', async () => {
  if (!CHROMIUM) throw new Error('/usr/bin/chromium is missing: apt-get install -y chromium (CI must install it)');
  const scenario = parseScenario('name: report-test\ndescription: "a <hand-written> history"\nduration: 20\nfaults: [{ at: 5, op: kill, node: n3 }, { at: 12, op: restart, node: n3 }]\ninvariants: { availability: {}, detection: { max_ms: 2000 }, durability: {}, membership: {} }\n');
  const h = history();
  const result = check(h, scenario.invariants);
  expect(result.verdicts.map((v) => [v.invariant, v.ok])).toEqual([['availability', true], ['detection', true], ['durability', true], ['membership', true], ['crashes', true]]);
  const files = writeReport(tmp, h, result, scenario, scenario.faults, []);
  const html = fs.readFileSync(files.html, 'utf8');
  // Self-contained: no script, stylesheet, image or font fetched from anywhere.
  expect(html).not.toMatch(/<(script|link|img|iframe)[^>]+(src|href)=/i);
  expect(html).not.toMatch(/url\(/);
  expect(JSON.parse(fs.readFileSync(files.json, 'utf8')).history.events.length).toBe(h.events.length);

  const profile = fs.mkdtempSync(path.join(tmp, 'profile-'));
  const { stdout } = await run(CHROMIUM!, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--dump-dom', `file://${files.html}`,
  ], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  expect(stdout).not.toContain('id="render-error"');
  expect(stdout).toMatch(/id="render-ok"[^>]*data-lanes="3"/);
  expect(stdout).toMatch(/data-verdicts="5"/);
  expect(stdout).toContain('<svg');
  expect(stdout).toMatch(/<td class="ok">PASS<\/td><td>detection<\/td>/);
  // The hostile key from the history is text, not markup.
  expect(stdout).not.toContain('<b>');
  expect((stdout.match(/<rect/g) ?? []).length).toBeGreaterThan(20);
}, 90_000);
