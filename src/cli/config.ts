// `gossamer config db_import FILE` / `db_export FILE`: Kong's declarative configuration
// (`_format_version: "3.0"`, YAML or JSON) into and out of the database (src/declarative/).
import fs from 'node:fs';
import { Command } from 'commander';
import { assertBootstrapped, createPool, describePgError, isConnectionError } from '../db/index.ts';
import type { Config } from '../config/index.ts';

type LoadConfig = (opts: { config?: string }) => Config;

async function withPool(config: Config, run: (pool: ReturnType<typeof createPool>) => Promise<void>): Promise<void> {
  if (config.database !== 'postgres') throw new Error("this node has database = off: run db_import / db_export with a control plane's or traditional node's configuration");
  const pool = createPool({ ...config, pg_max: 1 });
  try {
    await assertBootstrapped(pool);
    await run(pool);
  } catch (err) {
    throw isConnectionError(err) ? new Error(describePgError(err, { host: config.pg_host, port: config.pg_port })) : err;
  } finally {
    await pool.end().catch(() => {});
  }
}

export function configCommand(loadConfig: LoadConfig): Command {
  const cmd = new Command('config').description('declarative configuration (Kong 3 format) in and out of the database');
  cmd
    .command('db_import')
    .argument('<file>', 'declarative configuration, YAML or JSON')
    .description('create or replace every entity of the file in the database')
    .option('-c, --config <file>', 'configuration file (for the pg_* settings)')
    .action(async (file: string, opts: { config?: string }) => {
      const { fail } = await import('./load.ts');
      try {
        const config = loadConfig(opts);
        const [{ parseDeclarative }, { importDeclarative }] = await Promise.all([import('../declarative/parse.ts'), import('../declarative/import.ts')]);
        let text: string;
        try {
          text = fs.readFileSync(file, 'utf8');
        } catch (err) {
          throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
        const decl = parseDeclarative(text, file);
        console.log(`parse successful: ${decl.entities.length} entities`);
        await withPool(config, async (pool) => {
          const r = await importDeclarative(pool, decl);
          console.log(`import successful: ${r.created} created, ${r.updated} replaced`);
        });
      } catch (err) {
        const { DeclarativeError } = await import('../declarative/parse.ts');
        if (err instanceof DeclarativeError) {
          for (const p of err.problems) process.stderr.write(`Error: ${p}\n`);
          process.stderr.write('nothing was imported\n');
          process.exitCode = 1;
        } else fail(err);
      }
    });
  cmd
    .command('db_export')
    .argument('<file>', "where to write the declarative configuration ('-' for stdout)")
    .description('write every entity of the database as a declarative configuration file')
    .option('-c, --config <file>', 'configuration file (for the pg_* settings)')
    .action(async (file: string, opts: { config?: string }) => {
      const { fail } = await import('./load.ts');
      try {
        const config = loadConfig(opts);
        const [{ exportDeclarative }, { loadSnapshot }] = await Promise.all([import('../declarative/export.ts'), import('../db/snapshot.ts')]);
        await withPool(config, async (pool) => {
          const text = exportDeclarative(await loadSnapshot(pool));
          if (file === '-') process.stdout.write(text);
          else {
            fs.writeFileSync(file, text);
            console.log(`exported to ${file}`);
          }
        });
      } catch (err) {
        fail(err);
      }
    });
  return cmd;
}
