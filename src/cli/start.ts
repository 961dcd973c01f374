// `gossamer start | stop | reload | check`: Kong's process commands.
import { Command } from 'commander';
import { guessDataPlaneWorkers } from './early-workers.ts';
import { isAlive, pidFile, runningPid } from '../pidfile.ts';

// The configuration module (zod and every key's schema) loads when a command runs, so that
// `start` can fork a data plane's proxy workers first (early-workers.ts).
const config = () => import('./load.ts');
const fail = async (err: unknown) => (await config()).fail(err);

interface FileOpts {
  conf?: string;
  prefix?: string;
}

export function startCommand(): Command {
  return new Command('start')
    .description('run a node in the foreground until SIGTERM/SIGINT')
    .option('-c, --conf <file>', 'configuration file')
    .option('-p, --prefix <dir>', 'prefix directory (overrides the prefix key)')
    .action(async (opts: FileOpts) => {
      // A data plane restarted while its control planes are down must serve its cache within
      // 2 s: its proxy workers boot (about a second) while this process loads and validates
      // the configuration and the node's modules. The guess is checked right after.
      const guessed = guessDataPlaneWorkers(opts.conf);
      const early = guessed > 0 ? await import('../proxy/fork-worker.ts') : null;
      try {
        early?.forkProxyWorkersEarly(guessed);
        const config = (await import('./load.ts')).loadForCommand({ file: opts.conf, prefix: opts.prefix });
        if (early && !(config.cluster_role === 'data_plane' && config.proxy_listen.length > 0)) early.dropEarlyWorkers();
        // The node (and the libp2p/undici stacks behind it) loads only for `start`, keeping
        // `check`, `stop` and the rest quick.
        const { runNode } = await import('../node/index.ts');
        await runNode(config, opts.conf);
      } catch (err) {
        // Workers forked early and never adopted would keep this process alive (their IPC).
        early?.dropEarlyWorkers();
        await fail(err);
      }
    });
}

async function prefixOf(opts: FileOpts): Promise<string> {
  return (await config()).loadForCommand({ file: opts.conf, prefix: opts.prefix }).prefix;
}

export function stopCommand(): Command {
  return new Command('stop')
    .description('stop the node whose pid file is in PREFIX (graceful: drain, leave the cluster)')
    .option('-c, --conf <file>', 'configuration file (to find the prefix)')
    .option('-p, --prefix <dir>', 'prefix directory')
    .option('-t, --timeout <seconds>', 'wait this long for the node to exit', '30')
    .action(async (opts: FileOpts & { timeout: string }) => {
      try {
        const prefix = await prefixOf(opts);
        const pid = runningPid(prefix);
        if (pid === null) throw new Error(`no node is running in ${prefix} (no live pid in ${pidFile(prefix)})`);
        process.kill(pid, 'SIGTERM');
        const deadline = Date.now() + Number(opts.timeout) * 1000;
        while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        if (isAlive(pid)) throw new Error(`node ${pid} in ${prefix} did not stop within ${opts.timeout}s`);
        console.log(`Gossamer stopped (pid ${pid})`);
      } catch (err) {
        await fail(err);
      }
    });
}

export function reloadCommand(): Command {
  return new Command('reload')
    .description("flush a running node's cached configuration: read every entity again from its source, and log_level from the file (SIGHUP)")
    .option('-c, --conf <file>', 'configuration file (to find the prefix)')
    .option('-p, --prefix <dir>', 'prefix directory')
    .action(async (opts: FileOpts) => {
      try {
        const prefix = await prefixOf(opts);
        const pid = runningPid(prefix);
        if (pid === null) throw new Error(`no node is running in ${prefix} (no live pid in ${pidFile(prefix)})`);
        process.kill(pid, 'SIGHUP');
        console.log(`Gossamer reloaded (pid ${pid})`);
      } catch (err) {
        await fail(err);
      }
    });
}

export function checkCommand(): Command {
  return new Command('check')
    .description('validate a configuration file; exit 1 listing every error')
    .argument('[file]', 'configuration file (same as -c)')
    .option('-c, --conf <file>', 'configuration file')
    .action(async (file: string | undefined, opts: FileOpts) => {
      const conf = opts.conf ?? file;
      const { loadConfig } = await import('../config/index.ts');
      const r = loadConfig({ file: conf });
      for (const w of r.warnings) console.error(`warning: ${w}`);
      if (r.errors.length) {
        for (const e of r.errors) console.error(`Error: ${e}`);
        process.exitCode = 1;
        return;
      }
      console.log(`configuration at ${r.file ?? '(defaults)'} is valid`);
    });
}
