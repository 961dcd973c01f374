// Hybrid mode for the simulator: one control plane on the run's Postgres (Admin API writes go
// there; it proxies nothing) and N data planes (database = off) that the balancer sends
// traffic to. Both sides hold one cluster certificate made with `gossamer cluster gen-cert`.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { NodeState } from '../history.ts';
import { hybridNodeConfig } from './hybrid-config.ts';
import { SimNode, type NodePorts } from './node-process.ts';
import { simPort } from './ports.ts';

const BIN = fileURLToPath(new URL('../../bin/gossamer.js', import.meta.url));
const run = promisify(execFile);

/** The control plane's name in the history, the report and fault events. */
export const CONTROL_PLANE = 'cp';

export interface HybridNodesOptions {
  dir: string;
  /** Data plane names (n1..nN): the nodes behind the balancer. */
  names: string[];
  database: { pg_host: string; pg_port: number; pg_user: string; pg_password: string; pg_database: string };
  config?: Record<string, string | number | boolean>;
  nodeConfig?: Record<string, Record<string, string | number | boolean>>;
  onState: (node: string, state: NodeState, crashed?: string) => void;
}

export interface HybridNodes {
  controlPlane: SimNode;
  dataPlanes: SimNode[];
  /** Every port handed out, for the end-of-run listening check. */
  ports: number[];
}

export async function hybridNodes(o: HybridNodesOptions): Promise<HybridNodes> {
  const certDir = path.join(o.dir, 'certs');
  await run(process.execPath, [BIN, 'cluster', 'gen-cert', '--out', certDir], { timeout: 60_000 }).catch((err) => {
    throw new Error(`cluster gen-cert --out ${certDir} failed: ${err.stderr || err.message}`);
  });
  const ports: number[] = [];
  const take = async (): Promise<NodePorts> => {
    const p = { proxy: await simPort(), admin: await simPort(), cluster: await simPort() };
    ports.push(p.proxy, p.admin, p.cluster);
    return p;
  };
  const cpPorts = await take();
  const make = (name: string, role: 'control_plane' | 'data_plane', p: NodePorts) =>
    new SimNode({
      name,
      dir: path.join(o.dir, name),
      ports: p,
      config: {
        ...hybridNodeConfig({ name, role, ports: p, certDir, database: o.database, controlPlanePort: cpPorts.cluster }),
        prefix: path.join(o.dir, name, 'prefix'),
        cluster_test_partitions: 'on',
        ...o.config,
        ...o.nodeConfig?.[name],
      },
      onState: o.onState,
    });
  const controlPlane = make(CONTROL_PLANE, 'control_plane', cpPorts);
  const dataPlanes: SimNode[] = [];
  for (const name of o.names) dataPlanes.push(make(name, 'data_plane', await take()));
  return { controlPlane, dataPlanes, ports };
}
