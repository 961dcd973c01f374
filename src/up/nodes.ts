// The node processes of a local cluster: one generated gossamer.conf per node (the file a
// Kong user would write by hand), started as `gossamer start -c FILE` with its output in
// PREFIX/gossamer.log.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { UpDatabase } from './database.ts';
import type { NodePorts } from './ports.ts';

export const GOSSAMER_BIN = fileURLToPath(new URL('../../bin/gossamer.js', import.meta.url));

/**
 * V8 flags for a node's primary process (the bin's shebang has the same). A young generation of
 * at most 3 x 4 MB instead of V8's 3 x 16: an idle primary allocates little, and the default let
 * its RSS sit about 20 MB higher (bench:idle, 10 nodes: 128 → 105 MB). Proxy workers are forked
 * with their own flags (src/proxy/fork-worker.ts) and keep V8's default, which suits traffic.
 */
export const PRIMARY_NODE_FLAGS = ['--max-semi-space-size=4'];

export interface NodeSpec {
  ports: NodePorts;
  prefix: string;
  confFile: string;
  logFile: string;
}

export function nodeSpec(nodesDir: string, ports: NodePorts): NodeSpec {
  const prefix = path.join(nodesDir, ports.name);
  return { ports, prefix, confFile: path.join(prefix, 'gossamer.conf'), logFile: path.join(prefix, 'gossamer.log') };
}

/** The kong.conf-format file of one node. Rewritten at every `up` so flags always apply. */
export function nodeConf(spec: NodeSpec, db: UpDatabase, seed: NodePorts | null): string {
  const p = spec.ports;
  return [
    `# Written by \`gossamer up\` at every start; change its flags rather than this file.`,
    `# Start this node by hand with: gossamer start -c ${spec.confFile}`,
    `prefix = ${spec.prefix}`,
    `node_name = ${p.name}`,
    `log_level = info`,
    ``,
    `database = postgres`,
    `pg_host = ${db.host}`,
    `pg_port = ${db.port}`,
    `pg_user = ${db.user}`,
    `pg_password = ${db.password}`,
    `pg_database = ${db.database}`,
    ``,
    `proxy_listen = 127.0.0.1:${p.proxy}`,
    `admin_listen = 127.0.0.1:${p.admin}`,
    `cluster_listen = 127.0.0.1:${p.cluster}`,
    `cluster_advertise = 127.0.0.1:${p.cluster}`,
    // Nodes also find each other through the database; the seed only speeds up the first join.
    seed ? `cluster_peers = 127.0.0.1:${seed.cluster}` : `# cluster_peers: node-1 is the seed the others dial`,
    ``,
    // Several nodes share this machine's cores: one proxy worker each keeps `up` light.
    `worker_processes = 1`,
    ``,
  ].join('\n');
}

/** The environment of a node: without KONG_* / GOSSAMER_* overrides, so the generated file is what runs. */
export function nodeEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('KONG_') || k.startsWith('GOSSAMER_')) continue;
    env[k] = v;
  }
  return env;
}

export interface RunningNode {
  spec: NodeSpec;
  child: ChildProcess;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<string>;
  hasExited(): boolean;
  /** SIGTERM (graceful: drain, leave the cluster), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<string>;
}

export function startNode(spec: NodeSpec, db: UpDatabase, seed: NodePorts | null): RunningNode {
  fs.mkdirSync(spec.prefix, { recursive: true });
  fs.writeFileSync(spec.confFile, nodeConf(spec, db, seed));
  const log = fs.openSync(spec.logFile, 'a');
  fs.writeSync(log, `\n--- gossamer up: starting ${spec.ports.name} at ${new Date().toISOString()} ---\n`);
  // detached: its own process group, so the terminal's Ctrl-C reaches only the launcher,
  // which stops the nodes before Postgres.
  const child = spawn(process.execPath, [...PRIMARY_NODE_FLAGS, GOSSAMER_BIN, 'start', '-c', spec.confFile], {
    stdio: ['ignore', log, log],
    detached: true,
    env: nodeEnv(),
  });
  fs.closeSync(log);
  let done = false;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve(signal ?? String(code));
    });
    child.once('error', (err) => {
      done = true;
      resolve(`error: ${err.message}`);
    });
  });
  return {
    spec,
    child,
    exited,
    hasExited: () => done,
    stop: async (graceMs = 15_000) => {
      if (done) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!done) child.kill('SIGKILL');
      }, graceMs);
      const how = await exited;
      clearTimeout(timer);
      return how;
    },
  };
}

export function logTail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
