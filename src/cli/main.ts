// The `gossamer` program: one file per command under src/cli/, assembled here.
import { Command } from 'commander';
import { clusterCommand } from './cluster.ts';
import { migrationsCommand } from './migrations.ts';
import { simCommand } from './sim.ts';
import { upCommand } from './up.ts';
import { loadForCommand } from './load.ts';
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
program.addCommand(migrationsCommand(({ config }) => loadForCommand({ file: config })));
program.addCommand(clusterCommand());
program.addCommand(upCommand());
program.addCommand(simCommand());

await program.parseAsync(process.argv);
