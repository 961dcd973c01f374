// Kong 3 reading _format_version "1.1" / "2.1" files: route paths migrated as
// kong/db/declarative/migrations/route_path.lua does (migrate_path_280_300.lua).
import { describe, expect, test } from 'vitest';
import { migratePath, normalizeUri } from '../../src/declarative/route-path.ts';
import { parseDocument } from '../../src/declarative/parse.ts';

describe('migratePath (kong/db/migrations/migrate_path_280_300.lua)', () => {
  test.each([
    ['/status/\\d+', '~/status/\\d+'],
    ['/regex.+', '~/regex.+'],
    ['/prefix', '/prefix'],
    ['/a//b/./c/../d', '/a/b/d'],
    ['/foo%2Dbar', '/foo-bar'],
    ['/keep%2Fslash', '/keep%2Fslash'],
    ['/re(%2D|x)+', '~/re(\\-|x)+'],
    ['/re(%2f)?', '~/re(%2F)?'],
    ['/', '/'],
  ])('%s → %s', (from, to) => expect(migratePath(from)).toBe(to));

  test('normalizeUri keeps reserved characters encoded, upper-cased', () => {
    expect(normalizeUri('/a%3a%7e')).toBe('/a%3A~');
  });
});

// spec/01-unit/01-db/01-schema/11-declarative_config/04-on-the-fly-migration_spec.lua
describe('on-the-fly migration', () => {
  const doc = (v: string) => ({
    _format_version: v,
    services: [{ name: 'foo', host: 'example.test', routes: [{ name: 'foo', paths: ['/regex.+', '/prefix'] }] }],
    routes: [{ name: 'bar', paths: ['/regex.+', '/prefix'] }],
  });
  const pathsOf = (v: string) => parseDocument(doc(v)).entities.filter((e) => e.entity === 'routes').map((e) => e.record.paths);

  test.each(['1.1', '2.1'])('format %s: nested and top-level route paths become Kong 3 paths', (v) => {
    expect(pathsOf(v)).toEqual([
      ['~/regex.+', '/prefix'],
      ['~/regex.+', '/prefix'],
    ]);
  });

  test('format 3.0 is read as written', () => {
    expect(pathsOf('3.0')).toEqual([
      ['/regex.+', '/prefix'],
      ['/regex.+', '/prefix'],
    ]);
  });

  test('the input document is not modified', () => {
    const d = doc('1.1');
    parseDocument(d);
    expect(d.routes[0]!.paths).toEqual(['/regex.+', '/prefix']);
  });
});
