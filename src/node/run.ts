// `gossamer start`: one node in this process, until SIGTERM/SIGINT; SIGHUP reloads.
import type { Config } from '../config/index.ts';
import { createLogger, PINO_LEVEL } from '../log.ts';
import { StartError } from '../errors.ts';
import { startNode, type RunningNode } from './start.ts';

/** `gossamer start`: run until SIGTERM/SIGINT, reload on SIGHUP. */
export async function runNode(config: Config, confFile?: string): Promise<void> {
  const log = createLogger(config.node_name, PINO_LEVEL[config.log_level]);
  let node: RunningNode;
  try {
    node = await startNode(config, log);
  } catch (err) {
    if (err instanceof StartError) {
      log.fatal(err.message);
      throw err;
    }
    log.fatal({ err }, 'failed to start');
    throw new StartError(`failed to start: ${(err as Error).message}`);
  }
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: draining connections and leaving the cluster');
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    await node.stop();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGHUP', () => {
    // Of the file, only what can change safely at run time is applied: the log level. Listen
    // addresses, database and cluster settings need a restart (Kong's reload re-spawns
    // workers; ours keeps the process so cluster identity and connections survive). The
    // entities are read again from their source, which is what Kong users reload for.
    void import('../config/index.ts').then(async ({ loadConfig }) => {
      const r = loadConfig({ file: confFile, prefix: config.prefix });
      if (r.errors.length) log.error({ errors: r.errors }, 'reload: configuration file has errors; keeping the running settings');
      else {
        log.level = PINO_LEVEL[r.config.log_level];
        log.info({ file: confFile ?? null }, 'reload: configuration file re-read');
      }
      const e = await node.reloadEntities();
      if (e.ok) log.info(e, `reload: configuration reloaded from ${e.from} (config_version ${e.config_version}, config_hash ${e.config_hash})`);
      else log.warn(e, `reload: could not read the configuration from ${e.from}; still serving the cached one (config_version ${e.config_version})`);
    }).catch((err: Error) => log.error({ err }, 'reload failed'));
  });
  await new Promise(() => {});
}
