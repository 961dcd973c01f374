import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { acquireLock, isAlive, readLock, releaseLock } from '../../src/up/lock.ts';
import { checkPorts, nodePorts, portClaims } from '../../src/up/ports.ts';

const dirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-uplock-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const info = (pid: number) => ({ pid, startedAt: new Date().toISOString(), balancerUrl: 'http://127.0.0.1:8000', children: [] });

test('node ports follow Kong\'s last digits: proxy +0, admin +1, cluster +5, ten apart', () => {
  expect(nodePorts(8100, 3)).toEqual([
    { name: 'node-1', proxy: 8100, admin: 8101, cluster: 8105 },
    { name: 'node-2', proxy: 8110, admin: 8111, cluster: 8115 },
    { name: 'node-3', proxy: 8120, admin: 8121, cluster: 8125 },
  ]);
});

test('a lock held by a live process refuses; one left by a dead process is taken over', async () => {
  const dir = tmpDir();
  const sleeper = spawn('sleep', ['30']);
  try {
    expect(acquireLock(dir, info(sleeper.pid!))).toEqual({ ok: true, stale: null });
    const refused = acquireLock(dir, info(process.pid));
    expect(refused).toMatchObject({ ok: false, running: { pid: sleeper.pid } });
  } finally {
    sleeper.kill('SIGKILL');
    await new Promise((r) => sleeper.once('exit', r));
  }
  expect(isAlive(sleeper.pid!)).toBe(false);
  const taken = acquireLock(dir, info(process.pid));
  expect(taken).toMatchObject({ ok: true, stale: { pid: sleeper.pid } });
  expect(readLock(dir)?.pid).toBe(process.pid);
  releaseLock(dir);
  expect(readLock(dir)).toBeNull();
});

test('checkPorts names a taken port, what wanted it and the flag; and a port planned twice', async () => {
  const holder = net.createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  const busy = (holder.address() as net.AddressInfo).port;
  try {
    const problems = await checkPorts(portClaims({ balancer: busy, postgres: busy, echo: 1, nodes: [] }));
    expect(problems).toContain(`port ${busy} (load balancer) is already in use by another program; choose another with --port <port>`);
    expect(problems).toContain(`port ${busy} is planned for both the load balancer and the embedded Postgres; change --pg-port`);
  } finally {
    holder.close();
  }
  const free = [await freePort(), await freePort()];
  expect(await checkPorts(portClaims({ balancer: busy, postgres: free[0]!, echo: free[1]!, nodes: [] }))).toEqual(free[0] === free[1] ? [expect.stringMatching(/planned for both/)] : []);
});
