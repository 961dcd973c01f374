// Real `gossamer start` nodes (two proxy workers each) on one test database, the first one
// bootstrapping it: what the multi-node plugin tests start.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { runCli, startNodeProcess } from './cli.ts';
import type { TestDatabase } from './pg.ts';
import { until } from './until.ts';

export interface DbNode {
  admin: string;
  proxy: string;
  child: ChildProcess;
  output: () => string;
}

/**
 * Starts node `name` under `dir` and waits for its Admin API; the first of `nodes` bootstraps the
 * database. `extra`: more kong.conf lines (a key set again there wins).
 */
export async function startDbNode(name: string, db: TestDatabase, dir: string, nodes: DbNode[], children: ChildProcess[], extra = ''): Promise<DbNode> {
  const p = { proxy: await freePort(), admin: await freePort(), cluster: await freePort() };
  const file = path.join(dir, `${name}.conf`);
  fs.writeFileSync(
    file,
    `pg_host = ${db.host}\npg_port = ${db.port}\npg_user = ${db.user}\npg_password = ${db.password}\npg_database = ${db.database}\n` +
      `prefix = ${path.join(dir, name)}\nnode_name = ${name}\nproxy_listen = 127.0.0.1:${p.proxy}\nadmin_listen = 127.0.0.1:${p.admin}\n` +
      `cluster_listen = 127.0.0.1:${p.cluster}\nworker_processes = 2\n${extra}`,
  );
  if (nodes.length === 0) {
    const boot = await runCli(['migrations', 'bootstrap', '-c', file]);
    expect(boot.code, boot.stderr).toBe(0);
  }
  const n = startNodeProcess(file, children);
  const admin = `http://127.0.0.1:${p.admin}`;
  await until(`${name}'s Admin API`, async () => ((await fetch(`${admin}/status`).catch(() => null))?.ok ? true : undefined), 60_000, n.output);
  const node = { admin, proxy: `http://127.0.0.1:${p.proxy}`, child: n.child, output: n.output };
  nodes.push(node);
  return node;
}
