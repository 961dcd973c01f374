// The `gossamer` program: one file per command under src/cli/, assembled here.
import { Command } from 'commander';
import { checkCommand, reloadCommand, startCommand, stopCommand } from './start.ts';
import { VERSION } from '../version.ts';

const program = new Command('gossamer')
  .description('Kong-compatible API gateway whose nodes form a peer-to-peer cluster')
  .version(VERSION)
  .showHelpAfterError();

program.addCommand(startCommand());
program.addCommand(stopCommand());
program.addCommand(reloadCommand());
program.addCommand(checkCommand());
// `start` loads no other command's modules (up, migrations and sim bring pg and more): a data
// plane restarted while its control planes are down must serve from its cache within 2 s.
if (process.argv[2] !== 'start') {
  const [{ loadForCommand }, { migrationsCommand }, { clusterCommand }, { upCommand }, { simCommand }, { configCommand }] = await Promise.all([
    import('./load.ts'),
    import('./migrations.ts'),
    import('./cluster.ts'),
    import('./up.ts'),
    import('./sim.ts'),
    import('./config.ts'),
  ]);
  program.addCommand(migrationsCommand(({ config }) => loadForCommand({ file: config })));
  program.addCommand(configCommand(({ config }) => loadForCommand({ file: config })));
  program.addCommand(clusterCommand());
  program.addCommand(upCommand());
  program.addCommand(simCommand());
}

await program.parseAsync(process.argv);
