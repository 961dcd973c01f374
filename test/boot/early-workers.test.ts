// `gossamer start` forks a data plane's proxy workers before the configuration is validated
// (src/cli/early-workers.ts): the guess follows the loader's precedence, and a start that
// fails before the proxy adopts the workers still exits.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { guessDataPlaneWorkers } from '../../src/cli/early-workers.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-early-workers-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const BIN = fileURLToPath(new URL('../../bin/gossamer.js', import.meta.url));

function conf(name: string, text: string): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, text);
  return f;
}

test('the guess reads cluster_role, proxy_listen and worker_processes from the file, then KONG_*, then GOSSAMER_*', () => {
  const dp = conf('dp.conf', 'cluster_role = data_plane   # hybrid\nworker_processes = 2\n');
  expect(guessDataPlaneWorkers(dp, {})).toBe(2);
  expect(guessDataPlaneWorkers(dp, { KONG_WORKER_PROCESSES: '3' })).toBe(3);
  expect(guessDataPlaneWorkers(dp, { KONG_WORKER_PROCESSES: '3', GOSSAMER_WORKER_PROCESSES: '1' })).toBe(1);
  expect(guessDataPlaneWorkers(dp, { GOSSAMER_CLUSTER_ROLE: 'control_plane' })).toBe(0);
  expect(guessDataPlaneWorkers(dp, { KONG_PROXY_LISTEN: 'off' })).toBe(0);
  expect(guessDataPlaneWorkers(dp, { GOSSAMER_WORKER_PROCESSES: 'many' })).toBe(0);
  expect(guessDataPlaneWorkers(conf('auto.conf', 'cluster_role = data_plane\n'), {})).toBe(Math.max(1, os.availableParallelism()));
  expect(guessDataPlaneWorkers(conf('trad.conf', 'worker_processes = 2\n'), {})).toBe(0);
  expect(guessDataPlaneWorkers(undefined, { GOSSAMER_CLUSTER_ROLE: 'data_plane', GOSSAMER_WORKER_PROCESSES: '1' })).toBe(1);
  expect(guessDataPlaneWorkers(path.join(tmp, 'missing.conf'), {})).toBe(0);
});

test('a data plane whose configuration is invalid exits 1 with the errors, its early workers stopped', async () => {
  const bad = conf('bad-dp.conf', 'cluster_role = data_plane\ndatabase = off\nworker_processes = 1\npg_port = notaport\n');
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const p = execFile(process.execPath, [BIN, 'start', '-c', bad, '-p', path.join(tmp, 'prefix')], { timeout: 60_000 }, (err, _out, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
    );
    p.stdin?.end();
  });
  expect(r.stderr).toMatch(/pg_port = 'notaport' is invalid/);
  expect(r.code).toBe(1);
});
