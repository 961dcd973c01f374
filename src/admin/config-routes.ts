// Kong's /config (kong/api/routes/config.lua) on a DB-less node. POST replaces the whole
// configuration: a JSON body that is the configuration itself, a `config` field holding it as
// text (JSON body, form, or multipart as `curl -F config=@kong.yml` sends it), or the raw body
// (YAML, or JSON). Invalid input is Kong's 400 with code 14 and every problem with its place;
// `?check_hash=1` answers 304 when the text is the one running; `?flatten_errors=1` adds
// Kong's flattened_errors. GET answers {config: <the running configuration as YAML>}.
import { createHash } from 'node:crypto';
import type { ConfigSnapshot } from '../entities/types.ts';
import { readRaw } from './body.ts';
import { decodeForm } from './form.ts';
import type { AdminRequest, AdminResponse, Router } from './router.ts';

/** What the routes need from the node: parse, apply, export (the declarative code loads lazily). */
export interface ConfigRoutesDeps {
  /** The running configuration's text hash (Kong's md5 of the text), or null. */
  textHash(): string | null;
  /**
   * Checks and applies a document; throws the problems (with `body(flatten)`) when invalid.
   * `render` is called with the checked configuration while the proxy workers load it (the
   * primary waits for them then); `rendered` is its result when the configuration applied is
   * that one.
   */
  apply(doc: Record<string, unknown> | string, textHash: string | null, flatten: boolean, render: (s: ConfigSnapshot) => string): Promise<{ snapshot: ConfigSnapshot; rendered?: string }>;
  exportYaml(): Promise<string>;
  bodyLimit: number;
}

const truthy = (v: string | null | undefined) => v !== null && v !== undefined && ['true', '1', 'on', 'yes'].includes(v.toLowerCase());

/** The `config` part of a multipart body, file or field. */
function multipartField(raw: Buffer, contentType: string, name: string): string | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const boundary = (m?.[1] ?? m?.[2])?.trim();
  if (!boundary) return undefined;
  for (const part of raw.toString('utf8').split(`--${boundary}`).slice(1)) {
    const sep = part.indexOf('\r\n\r\n');
    if (sep < 0) continue;
    const head = part.slice(0, sep);
    if (!new RegExp(`name="${name}"`, 'i').test(head)) continue;
    return part.slice(sep + 4).replace(/\r\n$/, '');
  }
  return undefined;
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** The configuration sent: a decoded document, or text to parse; null when there is none. */
function configOf(raw: Buffer, contentType: string, params: URLSearchParams): { doc: Record<string, unknown> | string; text: string | null } | null {
  const ct = contentType.toLowerCase();
  const text = raw.toString('utf8');
  let fields: Record<string, unknown> = {};
  if (ct.startsWith('application/x-www-form-urlencoded')) fields = decodeForm(text);
  else if (ct.startsWith('multipart/form-data')) {
    const config = multipartField(raw, contentType, 'config');
    if (config !== undefined) fields = { config };
    for (const k of ['check_hash', 'flatten_errors']) {
      const v = multipartField(raw, contentType, k);
      if (v !== undefined) fields[k] = v;
    }
  } else if (ct.startsWith('application/json') || ct.includes('+json')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) fields = parsed as Record<string, unknown>;
    } catch {
      // not JSON after all: read as text below, which reports it
    }
  }
  for (const k of ['check_hash', 'flatten_errors']) if (typeof fields[k] === 'string' && !params.has(k)) params.set(k, fields[k] as string);
  if (fields._format_version !== undefined) {
    const { check_hash: _c, flatten_errors: _f, ...doc } = fields;
    return { doc, text: null };
  }
  if (typeof fields.config === 'string') return { doc: fields.config, text: fields.config };
  if (fields.config && typeof fields.config === 'object') return { doc: fields.config as Record<string, unknown>, text: null };
  if (ct.startsWith('application/x-www-form-urlencoded') || ct.startsWith('multipart/form-data')) return null;
  if (text.trim() === '') return null;
  return { doc: text, text };
}

export function registerConfigRoutes(router: Router, deps: ConfigRoutesDeps): void {
  router.add('POST', '/config', async (req: AdminRequest): Promise<AdminResponse> => {
    const raw = await readRaw(req.raw, deps.bodyLimit);
    const params = new URLSearchParams(req.query);
    const sent = configOf(raw, String(req.headers['content-type'] ?? ''), params);
    if (!sent) return { status: 400, body: { message: 'expected a declarative configuration' } };
    const hash = sent.text !== null ? md5(sent.text) : null;
    if (params.get('check_hash') === '1' && hash !== null && hash === deps.textHash()) return { status: 304 };
    // The 201's body (every entity, ~100 ms of JSON for 10,000 routes and consumers) is written
    // while the workers load the configuration, not after.
    const render = (s: ConfigSnapshot) => JSON.stringify(createdBody(s));
    const { snapshot, rendered } = await deps.apply(sent.doc, hash, truthy(params.get('flatten_errors')), render);
    return { status: 201, body: rendered ?? render(snapshot), headers: { 'Content-Type': 'application/json; charset=utf-8' } };
  });
  router.add('GET', '/config', async () => ({ status: 200, body: { config: await deps.exportYaml() } }));
}

/** Kong's 201 body: every entity by kind, then by id. */
export function createdBody(snapshot: ConfigSnapshot): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [k, v] of Object.entries(snapshot)) {
    if (!Array.isArray(v) || v.length === 0) continue;
    out[k] = Object.fromEntries((v as { id: string }[]).map((e) => [e.id, e]));
  }
  return out;
}

/** A node with a database: Kong's answer to /config there (kong/api/routes/config.lua). */
export function registerConfigUnavailable(router: Router): void {
  const answer = (): AdminResponse => ({ status: 400, body: { message: 'this endpoint is only available when Kong is configured to not use a database' } });
  router.add('GET', '/config', answer);
  router.add('POST', '/config', answer);
}
