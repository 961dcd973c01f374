// `gossamer migrations bootstrap|up|status|reset`: thin wrappers over src/db/migrate.ts that
// print one line per outcome and never a stack trace.
import { Command } from 'commander';
import type { PgOptions, Pool } from '../db/pool.ts';
import * as migrate from '../db/migrate.ts';
import { withCommandPool } from './command-pool.ts';

type LoadPgConfig = (opts: { config?: string }) => PgOptions;

export function migrationsCommand(loadPgConfig: LoadPgConfig): Command {
  const cmd = new Command('migrations').description('create, upgrade, show or drop the database schema');

  const sub = (name: string, description: string, run: (pool: Pool, opts: { yes?: boolean }) => Promise<void>) => {
    cmd
      .command(name)
      .description(description)
      .option('-c, --config <file>', 'configuration file')
      .option('--yes', 'assume yes (required by reset)')
      .action(async (opts: { config?: string; yes?: boolean }) => {
        let pg: PgOptions;
        try {
          pg = loadPgConfig({ config: opts.config });
        } catch (err) {
          console.error(`Error: ${(err as Error).message}`);
          process.exitCode = 1;
          return;
        }
        try {
          await withCommandPool(pg, (pool) => run(pool, opts));
          process.exitCode = process.exitCode ?? 0;
        } catch (err) {
          console.error(`Error: ${(err as Error).message}`);
          process.exitCode = 1;
        }
      });
  };

  sub('bootstrap', 'create the schema on an empty database', async (pool) => {
    const r = await migrate.bootstrap(pool);
    console.log(r.message);
    for (const name of r.executed) console.log(`  executed ${name}`);
  });

  sub('up', 'apply pending migrations', async (pool) => {
    const ran = await migrate.up(pool);
    if (ran.length === 0) console.log('database is up to date');
    for (const name of ran) console.log(`executed ${name}`);
  });

  sub('status', 'show executed and pending migrations', async (pool) => {
    const s = await migrate.status(pool);
    if (!s.bootstrapped) {
      console.log("database needs bootstrapping; run 'gossamer migrations bootstrap'");
      return;
    }
    console.log(`executed migrations: ${s.executed.join(', ') || '(none)'}`);
    console.log(s.pending.length ? `pending migrations: ${s.pending.join(', ')}` : 'database is up to date');
  });

  sub('reset', 'drop every table (needs --yes)', async (pool, opts) => {
    if (!opts.yes) {
      console.error('Error: reset drops every table and all data; run it again with --yes to confirm');
      process.exitCode = 1;
      return;
    }
    await migrate.reset(pool);
    console.log('database reset: all gossamer tables dropped');
  });

  return cmd;
}
