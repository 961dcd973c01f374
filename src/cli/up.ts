// `gossamer up`: a local cluster (embedded Postgres + N nodes + a load balancer); `npm start`.
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULTS, runUp, UpRefused } from '../up/launcher.ts';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port number 1-65535');
  return n;
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 50) throw new InvalidArgumentError('expected a number of nodes, 1-50');
  return n;
}

export function upCommand(): Command {
  return new Command('up')
    .description('run a local cluster: embedded Postgres, N nodes and a load balancer (what npm start runs)')
    .option('-n, --nodes <n>', 'number of nodes', count, DEFAULTS.nodes)
    .option('--port <port>', 'load balancer port (the seed\'s nginx)', port, DEFAULTS.port)
    .option('--base-port <port>', 'node-N uses base+10(N-1) for its proxy, +1 Admin API, +5 cluster', port, DEFAULTS.basePort)
    .option('--pg-port <port>', 'embedded Postgres port', port, DEFAULTS.pgPort)
    .option('--echo-port <port>', 'port of the sample echo upstream used by the printed examples', port, DEFAULTS.echoPort)
    .option('--dir <dir>', 'state directory (Postgres data, node prefixes, logs)', DEFAULTS.dir)
    .action(async (opts: { nodes: number; port: number; basePort: number; pgPort: number; echoPort: number; dir: string }) => {
      const out = { line: (t: string) => console.log(t), error: (t: string) => console.error(t) };
      const up = runUp(opts, out);
      let signals = 0;
      let firstAt = 0;
      const onSignal = (sig: NodeJS.Signals) => {
        signals++;
        if (signals > 1) {
          // npm forwards the terminal's Ctrl-C to us as well: only a later one is the user's.
          if (Date.now() - firstAt > 1_000) out.error(`${sig} again: still stopping (nodes first, then Postgres); please wait`);
          return;
        }
        firstAt = Date.now();
        out.line(`\n${sig} received: stopping the cluster`);
        void up.stop().then(() => process.exit(process.exitCode ?? 0));
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      process.on('SIGHUP', onSignal);
      try {
        await up.ready;
      } catch (err) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        process.off('SIGHUP', onSignal);
        if (signals > 0) return; // interrupted while starting: the signal handler exits
        out.error(err instanceof UpRefused ? (err as Error).message : `Error: ${(err as Error).message}`);
        process.exit(1);
      }
    });
}
