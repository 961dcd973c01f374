// The simulator's parts that need no cluster: scenario files, the seeded schedule, the TCP
// fault proxy in front of a real Postgres, and the reaper's listening check.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, expect, test } from 'vitest';
import { randomSchedule, describeSchedule } from '../../sim/nemesis/schedule.ts';
import { startFaultProxy } from '../../sim/harness/fault-proxy.ts';
import { stillListening } from '../../sim/harness/reaper.ts';
import { simPort } from '../../sim/harness/ports.ts';
import { startUpstream } from '../../sim/harness/upstream.ts';
import { loadScenario, parseScenario } from '../../sim/scenario.ts';
import { buildSchedule } from '../../sim/run.ts';
import { testDatabase } from '../support/pg.ts';

const dir = path.resolve('sim/scenarios');
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

test('every scenario file parses, and the required ones exist', () => {
  const names = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => loadScenario(path.join(dir, f)).name);
  for (const n of ['node-loss', 'hung-node', 'partition-heal', 'db-outage', 'rolling-restart', 'split-writes', 'hybrid-cp-loss', 'tour']) expect(names).toContain(n);
  const tour = loadScenario(path.join(dir, 'tour.yaml'));
  expect(tour.duration).toBeGreaterThanOrEqual(80);
  expect(new Set(tour.faults.map((f) => f.op))).toEqual(new Set(['kill', 'restart', 'pause', 'resume', 'partition', 'heal', 'db-down', 'db-up', 'isolate-db', 'restore-db', 'rolling-restart']));
});

test('a bad scenario names the key that is wrong', () => {
  expect(() => parseScenario('name: x\nduration: 10\nfaults:\n  - { at: 1, op: explode }\n', 'bad.yaml')).toThrow(/bad\.yaml: invalid scenario:\n\s+faults\.0\.op/);
  expect(() => parseScenario('name: x\nduration: 10\nfaults:\n  - { at: 1, op: kill }\n', 'bad.yaml')).toThrow(/kill needs a node/);
  expect(() => parseScenario('name: x\nduration: 10\nfaults:\n  - { at: 1, op: kill, node: n7 }\n', 'bad.yaml')).toThrow(/names n7 but the scenario has 3 nodes/);
  expect(() => parseScenario('name: x\nduration: 10\nspeed: 3\n', 'bad.yaml')).toThrow(/Unrecognized key/);
});

test('the same seed gives the same fault schedule; another seed another one', () => {
  const a = randomSchedule(42, 600, 3);
  const b = randomSchedule(42, 600, 3);
  const c = randomSchedule(43, 600, 3);
  expect(describeSchedule(a)).toBe(describeSchedule(b));
  expect(describeSchedule(a)).not.toBe(describeSchedule(c));
  expect(a.length).toBeGreaterThan(20);
  // One fault at a time: every fault is repaired before the next starts.
  const open = new Set<string>();
  for (const s of a) {
    if (['kill', 'pause', 'partition', 'db-down', 'isolate-db'].includes(s.op)) {
      expect(open.size).toBe(0);
      open.add(s.op);
    } else if (s.op !== 'rolling-restart') open.clear();
    expect(s.at).toBeLessThanOrEqual(600);
  }
  const fuzz = parseScenario('name: f\nduration: 60\nrandom_faults: true\n');
  expect(buildSchedule(fuzz, 7, 3)).toEqual(buildSchedule(fuzz, 7, 3));
  expect(() => buildSchedule(parseScenario('name: f\nduration: 60\nfaults: [{ at: 1, op: kill, node: n3 }]\n'), 1, 2)).toThrow(/names n3, but the run has 2 nodes/);
});

test('the fault proxy carries Postgres traffic, cuts it, and lets it back', async () => {
  const db = await testDatabase('sim');
  const fp = await startFaultProxy({ target: { host: db.host, port: db.port } });
  cleanups.push(() => fp.close());
  const connect = async () => {
    const c = new pg.Client({ host: '127.0.0.1', port: fp.port, user: db.user, password: db.password, database: db.database, connectionTimeoutMillis: 2000 });
    c.on('error', () => {});
    await c.connect();
    return c;
  };
  const c1 = await connect();
  expect((await c1.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  fp.cut();
  await expect(c1.query('SELECT 1')).rejects.toThrow();
  await expect(connect()).rejects.toThrow();
  fp.restore();
  const c2 = await connect();
  expect((await c2.query('SELECT 2 AS two')).rows[0].two).toBe(2);
  await c2.end();
});

test('stillListening tells open ports from closed ones', async () => {
  const up = await startUpstream();
  const port = up.port;
  expect(await stillListening([port])).toEqual([port]);
  await up.close();
  expect(await stillListening([port])).toEqual([]);
});

test('node ports come from below the ephemeral range and are never handed out twice', async () => {
  const ports = await Promise.all(Array.from({ length: 20 }, () => simPort()));
  expect(new Set(ports).size).toBe(20);
  const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  for (const p of ports) expect(p < low && p >= 20_000).toBe(true);
});
