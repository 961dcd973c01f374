import { z } from 'zod';

/**
 * One configuration key: how its text is checked and converted, its default (as it would be
 * written in gossamer.conf) and the sentence the README's configuration reference prints.
 */
export interface KeyDef<T = unknown> {
  schema: z.ZodType<T, string>;
  default: string;
  description: string;
  /** What an operator may write, for error messages ("on or off", "1-65535"...). */
  allowed: string;
  /** Hidden from GET / and logs. */
  secret?: boolean;
}

export function key<T>(schema: z.ZodType<T, string>, def: string, allowed: string, description: string, secret = false): KeyDef<T> {
  return { schema, default: def, description, allowed, secret };
}

// Key constructors whose `allowed` text is written from the same range or values the schema
// checks, so the README, the error messages and the check cannot drift apart.

/** An integer in [min, max]; allowed reads `min-max`. */
export const count = (def: number, min: number, max: number, description: string) => key(int(min, max), String(def), `${min}-${max}`, description);

/** A duration in whole milliseconds in [min, max]; allowed reads `milliseconds, min-max`. */
export const millis = (def: number, min: number, max: number, description: string) =>
  key(int(min, max), String(def), `milliseconds, ${min}-${max}`, description);

/** A switch written as Kong writes them (on/off; true/false/yes/no accepted). */
export const onOff = (def: 'on' | 'off', description: string) => key(bool(), def, 'on or off', description);

/** One of `values`; allowed reads `a, b or c`. */
export const choice = <const T extends readonly [string, ...string[]]>(values: T, def: T[number], description: string) =>
  key(oneOf(values), def, `${values.slice(0, -1).join(', ')} or ${values.at(-1)}`, description);

/** The typed value of each key of a group (`{ pg_port: number, ... }`). */
export type Values<D> = { [K in keyof D]: D[K] extends KeyDef<infer T> ? T : never };

/** A key's default, parsed as loadConfig parses it (for code that also runs without a Config). */
export function defaultOf<T>(def: KeyDef<T>): T {
  return def.schema.parse(def.default);
}

/** The defaults of a group of keys, parsed as loadConfig parses them. */
export function defaultsOf<D extends Record<string, KeyDef>>(defs: D): Values<D> {
  const out: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(defs)) out[name] = defaultOf(def);
  return out as Values<D>;
}

export interface HostPort {
  host: string;
  port: number;
}

export interface Listen extends HostPort {
  /** Kong's trailing flags (`ssl`, `http2`, `reuseport`, `backlog=N`); kept, mostly ignored. */
  flags: string[];
}

/** A listen address reachable only from this machine (the chaos-testing switches require it). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

// Kong writes booleans as on/off; true/false/yes/no are accepted the same way.
export const bool = () =>
  z.string().trim().toLowerCase().pipe(z.enum(['on', 'off', 'true', 'false', 'yes', 'no'])).transform((v) => v === 'on' || v === 'true' || v === 'yes');

export const str = () => z.string().trim();

export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.string().trim().pipe(z.enum(values));

export const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

export const num = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+(\.\d+)?$/)
    .transform(Number)
    .pipe(z.number().min(min).max(max));

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** An nginx size (`8k`, `10m`, `1g`, `0`), in bytes: Kong passes its nginx_* keys to nginx. */
export const size = (min = 0) =>
  z.string().trim().transform((v, ctx) => {
    const m = /^(\d+)([kmg]?)$/i.exec(v);
    const bytes = m ? Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]! : NaN;
    if (!Number.isSafeInteger(bytes) || bytes < min) {
      ctx.addIssue({ code: 'custom', message: `expected a size in bytes with an optional k, m or g suffix${min > 0 ? `, at least ${min}` : ''}` });
      return z.NEVER;
    }
    return bytes;
  });

const TIME_UNITS: Record<string, number> = { ms: 1, '': 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** An nginx time (`60s`, `1m`, `500ms`, `60` = seconds), in milliseconds: Kong passes its nginx_* keys to nginx. */
export const duration = (min = 0) =>
  z.string().trim().transform((v, ctx) => {
    const m = /^(\d+)(ms|s|m|h|d|w)?$/.exec(v);
    const ms = m ? Number(m[1]) * TIME_UNITS[m[2] ?? '']! : NaN;
    if (!Number.isSafeInteger(ms) || ms < min) {
      ctx.addIssue({ code: 'custom', message: `expected a time: a number with ms, s, m, h, d or w (seconds without)${min > 0 ? `, at least ${min} ms` : ''}` });
      return z.NEVER;
    }
    return ms;
  });

/** Comma-separated list, Kong's array syntax. */
export const list = () =>
  z
    .string()
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));

const HOSTPORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/;

function parseHostPort(text: string): HostPort | string {
  const m = HOSTPORT.exec(text);
  if (!m) return `expected host:port`;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return `port ${m[2]} is out of range 1-65535`;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export const hostPort = () =>
  z.string().trim().transform((v, ctx): HostPort => {
    const r = parseHostPort(v);
    if (typeof r === 'string') {
      ctx.addIssue({ code: 'custom', message: r });
      return z.NEVER;
    }
    return r;
  });

/** `host:port [flags]`, comma-separated, or `off` (an empty list). */
export const listen = () =>
  z.string().trim().transform((v, ctx): Listen[] => {
    if (v === 'off') return [];
    const out: Listen[] = [];
    for (const part of v.split(',').map((s) => s.trim()).filter(Boolean)) {
      const [addr, ...flags] = part.split(/\s+/);
      const r = parseHostPort(addr!);
      if (typeof r === 'string') {
        ctx.addIssue({ code: 'custom', message: `'${part}': ${r}` });
        return z.NEVER;
      }
      out.push({ ...r, flags });
    }
    if (out.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'expected at least one address' });
      return z.NEVER;
    }
    return out;
  });

/** A list of host:port pairs (cluster_peers, cluster_control_plane); multiaddrs pass through. */
export const peerList = () =>
  z.string().transform((v, ctx): string[] => {
    const items = v.split(',').map((s) => s.trim()).filter(Boolean);
    for (const item of items) {
      if (item.startsWith('/')) continue; // a libp2p multiaddr, checked when dialled
      const r = parseHostPort(item);
      if (typeof r === 'string') {
        ctx.addIssue({ code: 'custom', message: `'${item}': ${r}` });
        return z.NEVER;
      }
    }
    return items;
  });
