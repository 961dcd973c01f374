// The shape docs/architecture.md promises for src/: no import cycles (type-only and dynamic
// imports included), no file over 600 lines, no function over 120 lines; and plugins are
// packages: outside src/plugins/ no file names a bundled plugin or its entities.
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { checkStructure } from '../../scripts/check-structure.mjs';
import { plugins } from '../../src/plugins/registry.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

test('src/ has no import cycle, no file over 600 lines and no function over 120 lines', () => {
  const r = checkStructure(ROOT);
  expect(r.files).toBeGreaterThan(100);
  expect(r.cycles).toEqual([]);
  expect(r.bigFiles).toEqual([]);
  expect(r.longFunctions).toEqual([]);
});

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : /\.(ts|mts)$/.test(e.name) ? [p] : [];
  });
}

test('outside src/plugins/, no file under src/ names a bundled plugin or a plugin-owned entity', () => {
  // Case-sensitive: a plugin's name in code is lower-case (key-auth, keyauth_credentials) or
  // PascalCase in a type (KeyAuthCredential); "ACLs" in a comment about file permissions is not acl.
  const pascal = (name: string) => name.split('-').map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
  const names = Object.keys(plugins).flatMap((name) => [name, name.replace(/-/g, ''), name.replace(/-/g, '_')]);
  const lower = `(?<![\\w-])(${[...new Set(names), 'acls', 'keyauth_credentials', 'basicauth_credentials'].join('|')})(?![\\w-])`;
  const types = `(?<![A-Za-z])(${Object.keys(plugins).map(pascal).join('|')})(?![a-z])`;
  const words = new RegExp(`${lower}|${types}`);
  const hits = sourceFiles(path.join(ROOT, 'src'))
    .filter((f) => !f.startsWith(path.join(ROOT, 'src', 'plugins') + path.sep))
    .flatMap((f) => fs.readFileSync(f, 'utf8').split('\n').flatMap((line, i) => (words.test(line) ? [`${path.relative(ROOT, f)}:${i + 1}: ${line.trim()}`] : [])));
  expect(hits).toEqual([]);
});
