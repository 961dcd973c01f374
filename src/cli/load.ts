import { loadConfig, type Config, type LoadOptions } from '../config/index.ts';

/** Raised for a configuration that cannot be used; the CLI prints its lines and exits 1. */
export class ConfigError extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
    this.name = 'ConfigError';
  }
}

/** Load and validate for a command; warnings go to stderr, errors throw ConfigError. */
export function loadForCommand(opts: LoadOptions): Config {
  const r = loadConfig(opts);
  for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
  if (r.errors.length) throw new ConfigError(r.errors);
  return r.config;
}

/** Print an error the way every command does: one line per problem, no stack. */
export function fail(err: unknown): void {
  if (err instanceof ConfigError) {
    for (const l of err.lines) process.stderr.write(`Error: ${l}\n`);
  } else {
    process.stderr.write(`Error: ${(err as Error)?.message ?? String(err)}\n`);
  }
  process.exitCode = 1;
}
