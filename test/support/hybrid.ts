// Hybrid-mode process tests: a temporary folder, a bootstrapped database, an echo upstream,
// shared cluster certificates, and control / data plane processes made from them; plus the
// calls those tests make on a node (Admin API, one proxied request, its log), over sim/harness.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { startEchoServer, type EchoServer } from '../../src/up/echo.ts';
import { SimNode } from '../../sim/harness/node-process.ts';
import { adminRequest, proxiedStatus } from '../../sim/harness/admin-call.ts';
import { hybridNodeConfig } from '../../sim/harness/hybrid-config.ts';
import { testDatabase, type TestDatabase } from './pg.ts';
import { runCli } from './cli.ts';
import { until } from './until.ts';

export interface HybridNodeOptions {
  /** Cluster port of the control plane data planes dial (cluster_control_plane). */
  controlPlanePort: number;
  /** This node's cluster port (a free one when absent). */
  clusterPort?: number;
  /** Folder under the fixture's with cluster.crt / cluster.key (default "certs"). */
  certDir?: string;
  extra?: Record<string, string | number>;
}

export interface HybridFixture {
  tmp: string;
  db: TestDatabase;
  echo: EchoServer;
  /** A control plane, a data plane, or a traditional node (proxy + Admin API on the same database). */
  node(name: string, role: 'control_plane' | 'data_plane' | 'traditional', o: HybridNodeOptions): Promise<SimNode>;
  /** Stops every node made, the echo server, and removes the folder (GOSSAMER_TEST_KEEP keeps it). */
  close(): Promise<void>;
}

/** A bootstrapped database and one certificate pair per name in `certDirs`. */
export async function hybridFixture(prefix: string, certDirs: string[] = ['certs']): Promise<HybridFixture> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `gossamer-${prefix}-`));
  const db = await testDatabase(prefix.replace(/\W/g, '_'));
  const echo = await startEchoServer({ port: await freePort() });
  const dbConf = path.join(tmp, 'db.conf');
  fs.writeFileSync(dbConf, Object.entries(db.conf).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
  const boot = await runCli(['migrations', 'bootstrap', '-c', dbConf]);
  expect(boot.code, boot.stderr).toBe(0);
  for (const dir of certDirs) {
    const r = await runCli(['cluster', 'gen-cert', '--out', path.join(tmp, dir)]);
    expect(r.code, r.stderr).toBe(0);
  }
  const started: SimNode[] = [];
  return {
    tmp,
    db,
    echo,
    async node(name, role, o) {
      const ports = { proxy: await freePort(), admin: await freePort(), cluster: o.clusterPort ?? (await freePort()) };
      const config = {
        ...hybridNodeConfig({ name, role: role === 'data_plane' ? role : 'control_plane', ports, certDir: path.join(tmp, o.certDir ?? 'certs'), database: db.conf, controlPlanePort: o.controlPlanePort }),
        ...(role === 'traditional' ? { cluster_role: 'traditional', proxy_listen: `127.0.0.1:${ports.proxy}` } : {}),
        ...o.extra,
      };
      const n = new SimNode({ name, dir: path.join(tmp, name), ports, config, onState: () => {} });
      started.push(n);
      return n;
    },
    async close() {
      await Promise.all(started.map((n) => n.stop(5000).catch(() => {})));
      for (const n of started) n.reap();
      await echo.close();
      if (!process.env.GOSSAMER_TEST_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

export const admin = (n: SimNode, method: string, url: string, body?: unknown) => adminRequest(n, method, url, body, 5000);

export const proxied = (n: SimNode, p: string) => proxiedStatus(n, p);

export const nodeLog = (n: SimNode): string => (fs.existsSync(n.logFile) ? fs.readFileSync(n.logFile, 'utf8') : '');

/** until() for a yes/no check; on time-out, the error carries the last lines of each node's log. */
export async function untilNodes(what: string, check: () => Promise<boolean>, timeoutMs = 15_000, nodes: SimNode[] = []): Promise<void> {
  const tail = (n: SimNode) => nodeLog(n).split('\n').slice(-25).join('\n');
  await until(what, async () => ((await check()) ? true : undefined), timeoutMs, () => nodes.map((n) => `--- ${n.name}\n${tail(n)}`).join('\n'));
}
