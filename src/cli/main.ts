// The `gossamer` program: one file per command under src/cli/, assembled here.
import { Command } from 'commander';
import { migrationsCommand } from './migrations.ts';
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

await program.parseAsync(process.argv);
