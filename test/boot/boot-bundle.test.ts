// bin/gossamer.js runs a bundle of the sources (src/boot/): rebuilt when a source changes,
// never half-built, a broken or unbuildable one falls back to tsx, and proxy workers run the
// bundle's worker entry. The build tests work on a copy of the project (its own cache under
// its own node_modules, every package linked to ours), so they can break it at will.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { cacheDirOf } from '../../src/boot/layout.mjs';
import { readCurrent } from '../../src/boot/stamp.mjs';
import { sweepBundles } from '../../src/boot/sweep.mjs';
import { BIN, cleanEnv, ROOT, runCli, type RunResult } from '../support/cli.ts';
import { writeDataPlaneConf } from '../support/dp-conf.ts';
import { until } from '../support/until.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-boot-bundle-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let copies = 0;
/** A copy of the project: sources, bin/, package.json, tsconfig.json; node_modules linked entry by entry. */
function projectCopy(): string {
  const dir = path.join(tmp, `project-${++copies}`);
  for (const d of ['src', 'sim', 'bin']) fs.cpSync(path.join(ROOT, d), path.join(dir, d), { recursive: true });
  for (const f of ['package.json', 'tsconfig.json']) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  for (const e of fs.readdirSync(path.join(ROOT, 'node_modules'))) {
    if (e !== '.cache') fs.symlinkSync(path.join(ROOT, 'node_modules', e), path.join(dir, 'node_modules', e));
  }
  return dir;
}

function gossamer(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(dir, 'bin', 'gossamer.js'), ...args], {
      env: { ...cleanEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Change what src/version.ts exports in the copy: a source edit whose effect the command shows. */
function setVersion(dir: string, v: string): void {
  fs.writeFileSync(path.join(dir, 'src', 'version.ts'), `export const VERSION: string = ${JSON.stringify(v)};\n`);
}

const bundleOf = (dir: string) => readCurrent(cacheDirOf(dir, {}));

test('the first run builds the bundle; an unchanged source tree runs it as built; a changed source rebuilds it', async () => {
  const dir = projectCopy();
  setVersion(dir, '1.0.0-first');
  const first = await gossamer(dir, ['--version']);
  expect(first.stderr).toBe('');
  expect(first.stdout.trim()).toBe('1.0.0-first');
  const built = bundleOf(dir);
  expect(built).not.toBeNull();
  const bundleDir = path.join(cacheDirOf(dir, {}), built!.dir);
  for (const f of ['main.mjs', 'worker-main.mjs', 'polyfill.mjs']) expect(fs.existsSync(path.join(bundleDir, f))).toBe(true);
  expect(built!.files.map(([f]) => f)).toContain('src/version.ts');

  // What runs is the bundle: a line added to it (not to the sources) shows.
  const main = path.join(bundleDir, 'main.mjs');
  fs.writeFileSync(main, `console.log('ran the bundle');\n${fs.readFileSync(main, 'utf8')}`);
  const again = await gossamer(dir, ['--version']);
  expect(again.stdout).toBe('ran the bundle\n1.0.0-first\n');
  expect(bundleOf(dir)!.dir).toBe(built!.dir);

  setVersion(dir, '1.0.0-second');
  const changed = await gossamer(dir, ['--version']);
  expect(changed.stdout).toBe('1.0.0-second\n');
  expect(changed.stderr).toBe('');
  expect(bundleOf(dir)!.dir).not.toBe(built!.dir);
});

test('processes started together after a change share one rebuild and all run the new sources', async () => {
  const dir = projectCopy();
  await gossamer(dir, ['--version']);
  setVersion(dir, '2.0.0-together');
  const runs = await Promise.all([1, 2, 3, 4].map(() => gossamer(dir, ['--version'])));
  for (const r of runs) expect({ out: r.stdout, err: r.stderr, code: r.code }).toEqual({ out: '2.0.0-together\n', err: '', code: 0 });
  const names = fs.readdirSync(cacheDirOf(dir, {}));
  expect(names.filter((n) => n.startsWith('b-'))).toHaveLength(2);
  expect(names.filter((n) => n.startsWith('tmp-'))).toEqual([]);
});

test('a bundle that fails to load falls back to tsx with one line, and the next start rebuilds it', async () => {
  const dir = projectCopy();
  await gossamer(dir, ['--version']);
  const bundleDir = path.join(cacheDirOf(dir, {}), bundleOf(dir)!.dir);
  fs.writeFileSync(path.join(bundleDir, 'main.mjs'), 'export const broken = ;\n');
  const broken = await gossamer(dir, ['--version']);
  expect(broken.code).toBe(0);
  expect(broken.stdout).toBe('0.1.0\n');
  expect(broken.stderr).toMatch(/^gossamer: start-up bundle .* failed to load \(.*\); running the TypeScript sources through tsx\n$/);
  expect(bundleOf(dir)).toBeNull();
  const rebuilt = await gossamer(dir, ['--version']);
  expect(rebuilt).toEqual({ code: 0, stdout: '0.1.0\n', stderr: '' });
  expect(bundleOf(dir)).not.toBeNull();
});

test('a bundle that cannot be built falls back to tsx with one line; GOSSAMER_NO_BUNDLE=1 skips it silently', async () => {
  const dir = projectCopy();
  const notADir = path.join(tmp, 'a-file');
  fs.writeFileSync(notADir, '');
  const unbuildable = await gossamer(dir, ['--version'], { GOSSAMER_BUNDLE_DIR: path.join(notADir, 'cache') });
  expect(unbuildable.stdout).toBe('0.1.0\n');
  expect(unbuildable.stderr).toMatch(/^gossamer: start-up bundle unavailable in .*a-file\/cache \(.*\); running the TypeScript sources through tsx\n$/);

  const plain = await gossamer(dir, ['--version'], { GOSSAMER_NO_BUNDLE: '1' });
  expect(plain).toEqual({ code: 0, stdout: '0.1.0\n', stderr: '' });
  expect(fs.existsSync(cacheDirOf(dir, {}))).toBe(false);
});

test('a command failing inside the bundle fails once: it is not run again through tsx', async () => {
  const dir = projectCopy();
  const r = await gossamer(dir, ['check', path.join(tmp, 'no-such.conf')]);
  expect(r.code).not.toBe(0);
  expect(r.stderr).not.toMatch(/through tsx/);
  expect(r.stderr.match(/no-such\.conf/g)?.length).toBe(1);
});

test('retired bundles are swept once nobody runs them; one a live process runs stays', () => {
  const cache = path.join(tmp, 'sweep-cache');
  const mk = (name: string, pids: number[]) => {
    fs.mkdirSync(path.join(cache, name, 'pids'), { recursive: true });
    fs.writeFileSync(path.join(cache, name, 'retired'), '');
    for (const p of pids) fs.writeFileSync(path.join(cache, name, 'pids', String(p)), '');
  };
  mk('b-current', []);
  fs.writeFileSync(path.join(cache, 'current.json'), JSON.stringify({ dir: 'b-current', files: [] }));
  mk('b-unused', [2 ** 22 + 1]); // above pid_max's default: a process that is gone
  mk('b-running', [process.pid]);
  sweepBundles(cache, Date.now() + 1000); // just retired: kept for processes that read current.json before the switch
  expect(fs.readdirSync(cache).sort()).toEqual(['b-current', 'b-running', 'b-unused', 'current.json']);
  sweepBundles(cache, Date.now() + 5 * 60_000);
  expect(fs.readdirSync(cache).sort()).toEqual(['b-current', 'b-running', 'current.json']);
});

test('a data plane started through bin/gossamer.js runs its proxy workers from the bundle, without tsx', async () => {
  const certs = path.join(tmp, 'certs');
  expect((await runCli(['cluster', 'gen-cert', '--out', certs])).code).toBe(0);
  const { conf } = await writeDataPlaneConf(tmp, 'dp', certs);
  const node = spawn(process.execPath, [BIN, 'start', '-c', conf], { env: cleanEnv(), stdio: 'ignore' });
  try {
    // Children other than the worker may come and go: esbuild's service while the bundle is
    // rebuilt (a source changed since the global setup built it).
    const workers = await until('the data plane forks its worker', async () => {
      const kids = fs.readFileSync(`/proc/${node.pid}/task/${node.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      const argvs = kids.map((k) => fs.readFileSync(`/proc/${k}/cmdline`, 'utf8').split('\0')).filter((a) => a.some((x) => x.includes('worker-main')));
      return argvs.length ? argvs : undefined;
    }, 30_000);
    expect(workers).toHaveLength(1);
    const argv = workers![0]!.join(' ');
    expect(argv).toContain(`${cacheDirOf(ROOT, cleanEnv())}/b-`);
    expect(argv).toMatch(/\/worker-main\.mjs( |$)/);
    expect(argv).not.toMatch(/tsx/);
  } finally {
    node.kill('SIGTERM');
    await new Promise((r) => node.once('exit', r));
  }
});
