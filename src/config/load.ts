import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KeyDef } from './key.ts';
import { parseConf } from './parse-conf.ts';
import { aliases, keys, type Config, type ConfigKey } from './schema.ts';

export interface LoadOptions {
  /** -c FILE; when absent, /etc/gossamer/gossamer.conf then /etc/gossamer.conf are tried like Kong's defaults. */
  file?: string;
  /** -p PREFIX (a CLI flag: beats every other source). */
  prefix?: string;
  env?: NodeJS.ProcessEnv;
  /** Further CLI-level overrides, highest precedence. */
  overrides?: Record<string, string>;
}

export interface LoadResult {
  config: Config;
  /** One line per problem: `<key> = '<value>' is invalid: <why>; allowed: <what>`. */
  errors: string[];
  warnings: string[];
  /** Where each key's value came from, for `gossamer check` and debugging. */
  sources: Record<string, 'default' | 'file' | 'KONG_' | 'GOSSAMER_' | 'flag'>;
  file?: string;
}

const DEFAULT_FILES = ['/etc/gossamer/gossamer.conf', '/etc/gossamer.conf'];

/** Precedence, lowest first: default < file < KONG_* < GOSSAMER_* < CLI flags. */
export function loadConfig(opts: LoadOptions = {}): LoadResult {
  const env = opts.env ?? process.env;
  const errors: string[] = [];
  const warnings: string[] = [];
  const raw: Record<string, string> = {};
  const sources: LoadResult['sources'] = {};
  const defs = keys as Record<string, KeyDef>;
  const canonical = (k: string) => aliases[k] ?? k;

  for (const [name, def] of Object.entries(defs)) {
    raw[name] = def.default;
    sources[name] = 'default';
  }

  let file = opts.file;
  if (!file) file = DEFAULT_FILES.find((f) => fs.existsSync(f));
  if (file) {
    let text: string | undefined;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      errors.push(`cannot read configuration file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (text !== undefined) {
      const parsed = parseConf(text);
      errors.push(...parsed.errors.map((e) => `${file}: ${e}`));
      for (const { key: k, value, line } of parsed.entries) {
        const name = canonical(k);
        if (!(name in defs)) {
          warnings.push(`${file}:${line}: unknown configuration key '${k}' (ignored)`);
          continue;
        }
        if (value === '') continue; // Kong: an empty value is unset (`pg_pool_size =` as in kong.conf.default)
        raw[name] = value;
        sources[name] = 'file';
      }
    }
  }

  for (const [prefix, source] of [['KONG_', 'KONG_'], ['GOSSAMER_', 'GOSSAMER_']] as const) {
    for (const [envName, value] of Object.entries(env)) {
      if (!envName.startsWith(prefix) || value === undefined) continue;
      const name = canonical(envName.slice(prefix.length).toLowerCase());
      if (!(name in defs)) continue; // the environment holds much else; never warn about it
      if (value.trim() === '') continue; // Kong: an empty value is unset
      raw[name] = value;
      sources[name] = source;
    }
  }

  const flags: Record<string, string> = { ...(opts.overrides ?? {}) };
  if (opts.prefix !== undefined) flags.prefix = opts.prefix;
  for (const [k, value] of Object.entries(flags)) {
    const name = canonical(k);
    if (!(name in defs)) {
      errors.push(`unknown configuration key '${k}'`);
      continue;
    }
    raw[name] = value;
    sources[name] = 'flag';
  }

  const config: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(defs)) {
    const parsed = def.schema.safeParse(raw[name]);
    if (parsed.success) {
      config[name] = parsed.data;
      continue;
    }
    // Our own checks explain themselves (e.g. "port 70000 is out of range"); zod's generic
    // texts would only repeat `allowed` less clearly, so they are left out.
    const why = parsed.error.issues.filter((i) => i.code === 'custom').map((i) => i.message).join('; ');
    const from = sources[name] === 'default' ? '' : ` (from ${describeSource(sources[name]!, name, file)})`;
    // A secret's value is not repeated: the message may end up in a log or a terminal.
    const shown = def.secret ? '******' : raw[name];
    errors.push(`${name} = '${shown}' is invalid${from}: ${why ? `${why}; ` : ''}allowed: ${def.allowed}`);
  }

  const result = config as Config;
  if (errors.length === 0) {
    errors.push(...crossChecks(result));
    warnings.push(...ignoredTlsKeys(result, sources));
    if (!result.node_name) result.node_name = `${os.hostname()}-${result.cluster_listen[0]?.port ?? 0}`;
    result.prefix = path.resolve(result.prefix);
  }
  return { config: result, errors, warnings, sources, file };
}

function describeSource(source: string, name: string, file?: string): string {
  if (source === 'file') return file ?? 'file';
  if (source === 'flag') return 'command line';
  return `${source}${name.toUpperCase()}`;
}

/** Rules that involve more than one key (Kong's conf_loader checks, same wording where Kong has one). */
function crossChecks(c: Config): string[] {
  const errs: string[] = [];
  if (c.cluster_role === 'data_plane' && c.database !== 'off') {
    errs.push("cluster_role = 'data_plane' requires database = off (data planes get their configuration from a control plane)");
  }
  if (c.cluster_role === 'control_plane' && c.database === 'off') {
    errs.push("cluster_role = 'control_plane' requires a database: set database = postgres");
  }
  if (c.cluster_role !== 'traditional' && c.cluster_listen.length === 0 && c.cluster_role === 'control_plane') {
    errs.push("cluster_role = 'control_plane' requires cluster_listen");
  }
  if (c.cluster_role === 'data_plane') {
    if (c.cluster_control_plane.length === 0) errs.push("cluster_role = 'data_plane' requires cluster_control_plane");
    if (!c.cluster_cert) errs.push("cluster_role = 'data_plane' requires cluster_cert (generate a pair with: gossamer cluster gen-cert)");
    if (!c.cluster_cert_key) errs.push("cluster_role = 'data_plane' requires cluster_cert_key (generate a pair with: gossamer cluster gen-cert)");
  }
  if (c.cluster_role !== 'traditional' && c.cluster_mtls === 'pki' && !c.cluster_ca_cert) {
    errs.push('cluster_ca_cert must be specified when cluster_mtls = "pki"');
  }
  return errs;
}

/** Kong ignores these three unless ssl_cipher_suite = custom; so do we, but say so. */
function ignoredTlsKeys(c: Config, sources: LoadResult['sources']): string[] {
  if (c.ssl_cipher_suite === 'custom') return [];
  return (['ssl_protocols', 'ssl_ciphers', 'ssl_prefer_server_ciphers'] as const)
    .filter((k) => sources[k] !== 'default')
    .map((k) => `${k} is ignored with ssl_cipher_suite = ${c.ssl_cipher_suite} (the suite sets it); set ssl_cipher_suite = custom to use it`);
}

/** The configuration as GET / shows it: secrets replaced, parsed values as they are. */
export function redactedConfig(c: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(keys) as ConfigKey[]) {
    out[name] = keys[name].secret ? '******' : c[name];
  }
  return out;
}
