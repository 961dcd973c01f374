// A data plane's configuration file on loopback for tests that start `gossamer start` by hand,
// its control plane a free port nobody listens on (a data plane restarted during an outage).
import fs from 'node:fs';
import path from 'node:path';
import { hybridNodeConfig } from '../../sim/harness/hybrid-config.ts';
import { freePort } from '../../src/db/embedded.ts';

export interface DataPlaneFiles {
  conf: string;
  prefix: string;
  proxy: number;
  admin: number;
}

/** Writes PREFIX/dp.conf (prefix = dir/name) for a data plane with the certificate pair in certDir. */
export async function writeDataPlaneConf(dir: string, name: string, certDir: string): Promise<DataPlaneFiles> {
  const [proxy, admin, cluster, cp] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const prefix = path.join(dir, name);
  fs.mkdirSync(prefix, { recursive: true });
  const keys = { prefix, ...hybridNodeConfig({ name, role: 'data_plane', ports: { proxy, admin, cluster }, certDir, database: {}, controlPlanePort: cp }) };
  const conf = path.join(prefix, 'dp.conf');
  fs.writeFileSync(conf, Object.entries(keys).map(([k, v]) => `${k} = ${v}\n`).join(''));
  return { conf, prefix, proxy, admin };
}
