// Kong 3 reads `_format_version` "1.1" and "2.1" files by migrating their route paths on the fly
// (kong/db/declarative/migrations/route_path.lua → kong/db/migrations/migrate_path_280_300.lua):
// Kong 2 treated any path with characters outside [a-zA-Z0-9.-_~/%] as a regex; Kong 3 marks a
// regex path with a leading `~`. A plain path is normalized (unreserved characters
// percent-decoded, dot segments removed, `//` merged); a regex path gets `~` and its
// percent-encoded triplets decoded, reserved ones kept upper-cased, regex metacharacters escaped.

const RESERVED = new Set([0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2f, 0x3a, 0x3b, 0x3d, 0x3f, 0x40, 0x5b, 0x5d]);
const REGEX_META: Record<number, string> = { 0x2e: '\\.', 0x5e: '\\^', 0x2d: '\\-', 0x7b: '\\{', 0x7d: '\\}', 0x5c: '\\\\', 0x7c: '\\|' };
/** kong/tools/uri.lua: reserved characters stay encoded when normalizing. */
const URI_RESERVED = new Set([..."!*'();:@&=+$,/?%#[]"].map((c) => c.charCodeAt(0)));

const TRIPLET = /%([0-9A-Fa-f]{2})/g;

function normalizeRegex(regex: string): string {
  if (!regex.includes('%')) return regex;
  return regex.replace(TRIPLET, (m, hex: string) => {
    const n = parseInt(hex, 16);
    if (RESERVED.has(n)) return m.toUpperCase();
    return REGEX_META[n] ?? String.fromCharCode(n);
  });
}

/** kong/tools/uri.lua normalize(uri, merge_slashes = true). */
export function normalizeUri(input: string): string {
  if (input === '' || input === '/') return input;
  let uri = input.includes('%') ? input.replace(TRIPLET, (m, hex: string) => (URI_RESERVED.has(parseInt(hex, 16)) ? m.toUpperCase() : String.fromCharCode(parseInt(hex, 16)))) : input;
  if (!uri.includes('.') && !uri.includes('//')) return uri;
  const out: string[] = [];
  while (uri.length > 0) {
    if (uri === '/.') uri = '/';
    else if (uri === '/..') {
      uri = '/';
      out.pop();
    } else if (uri === '.' || uri === '..') uri = '';
    else if (uri.startsWith('../')) uri = uri.slice(3);
    else if (uri.startsWith('./')) uri = uri.slice(2);
    else if (uri.startsWith('/./')) uri = uri.slice(2);
    else if (uri.startsWith('/../')) {
      uri = uri.slice(3);
      out.pop();
    } else if (uri.startsWith('//')) uri = uri.slice(1);
    else {
      const i = uri.indexOf('/', 1);
      out.push(i >= 0 ? uri.slice(0, i) : uri);
      uri = i >= 0 ? uri.slice(i) : '';
    }
  }
  return out.join('');
}

const PLAIN = /^[a-zA-Z0-9.\-_~/%]*$/;

/** One Kong 2 route path as Kong 3 reads it. */
export function migratePath(path: string): string {
  if (PLAIN.test(path)) return normalizeUri(path);
  return `~${normalizeRegex(path)}`;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function migrateRoutes(routes: unknown): void {
  if (!Array.isArray(routes)) return;
  for (const r of routes) {
    if (!isRecord(r) || !Array.isArray(r.paths)) continue;
    r.paths = r.paths.map((p) => (typeof p === 'string' ? migratePath(p) : p));
  }
}

/** In place, as Kong: top-level routes and routes nested in top-level services; the file becomes "3.0". */
export function migrateFormat(doc: Record<string, unknown>): void {
  const v = doc._format_version;
  if (v !== '1.1' && v !== '2.1') return;
  migrateRoutes(doc.routes);
  if (Array.isArray(doc.services)) for (const s of doc.services) if (isRecord(s)) migrateRoutes(s.routes);
  doc._format_version = '3.0';
}
