// `gossamer config db_import FILE` / `db_export FILE`: Kong's declarative configuration
// (`_format_version: "3.0"`, YAML or JSON) into and out of the database (src/declarative/).
import fs from 'node:fs';
import { Command } from 'commander';
import type { Config } from '../config/index.ts';
import type { Pool } from '../db/pool.ts';
import { withCommandPool } from './command-pool.ts';

type LoadConfig = (opts: { config?: string }) => Config;
/** Runs `use` with a pool on the configured, bootstrapped database. */
type Database = <T>(use: (pool: Pool) => Promise<T>) => Promise<T>;

/** A `config` subcommand taking `<file>` and `-c`; problems are printed one per line, as every command prints them. */
function subcommand(cmd: Command, name: string, fileHelp: string, description: string, loadConfig: LoadConfig, run: (file: string, database: Database) => Promise<void>): void {
  cmd
    .command(name)
    .argument('<file>', fileHelp)
    .description(description)
    .option('-c, --config <file>', 'configuration file (for the pg_* settings)')
    .action(async (file: string, opts: { config?: string }) => {
      const [{ fail }, { assertBootstrapped }, { DeclarativeError }] = await Promise.all([import('./load.ts'), import('../db/migrate.ts'), import('../declarative/parse.ts')]);
      try {
        const config = loadConfig(opts);
        if (config.database !== 'postgres') throw new Error(`this node has database = off: run ${name} with a control plane's or traditional node's configuration`);
        await run(file, (use) =>
          withCommandPool(config, async (pool) => {
            await assertBootstrapped(pool);
            return use(pool);
          }),
        );
      } catch (err) {
        if (!(err instanceof DeclarativeError)) return fail(err);
        for (const p of err.problems) process.stderr.write(`Error: ${p}\n`);
        process.stderr.write('nothing was imported\n');
        process.exitCode = 1;
      }
    });
}

export function configCommand(loadConfig: LoadConfig): Command {
  const cmd = new Command('config').description('declarative configuration (Kong 3 format) in and out of the database');
  subcommand(cmd, 'db_import', 'declarative configuration, YAML or JSON', 'create or replace every entity of the file in the database', loadConfig, async (file, database) => {
    const [{ parseDeclarative }, { importDeclarative }] = await Promise.all([import('../declarative/parse.ts'), import('../declarative/import.ts')]);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    // The file is read and checked before the database is opened.
    const decl = parseDeclarative(text, file);
    console.log(`parse successful: ${decl.entities.length} entities`);
    const r = await database((pool) => importDeclarative(pool, decl));
    console.log(`import successful: ${r.created} created, ${r.updated} replaced`);
  });
  subcommand(cmd, 'db_export', "where to write the declarative configuration ('-' for stdout)", 'write every entity of the database as a declarative configuration file', loadConfig, async (file, database) => {
    const [{ exportDeclarative }, { loadSnapshot }] = await Promise.all([import('../declarative/export.ts'), import('../db/snapshot.ts')]);
    const text = exportDeclarative(await database(loadSnapshot));
    if (file === '-') process.stdout.write(text);
    else {
      fs.writeFileSync(file, text);
      console.log(`exported to ${file}`);
    }
  });
  cmd
    .command('parse')
    .argument('<file>', 'declarative configuration, YAML or JSON')
    .description("check a declarative configuration file without a database, as DB-less mode and POST /config check it (Kong's `kong config parse`)")
    .option('-c, --config <file>', 'configuration file (accepted for Kong compatibility; not needed)')
    .action(async (file: string) => {
      const [{ snapshotFromText }, { DeclarativeError }] = await Promise.all([import('../declarative/build.ts'), import('../declarative/problems.ts')]);
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (err) {
        process.stderr.write(`Error: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
        process.exitCode = 1;
        return;
      }
      try {
        snapshotFromText(text);
        console.log('parse successful');
      } catch (err) {
        if (!(err instanceof DeclarativeError)) throw err;
        process.stderr.write(`Error: Failed parsing:\n${err.problems.map((p) => `${file}: ${p}`).join('\n')}\n`);
        process.exitCode = 1;
      }
    });
  return cmd;
}
