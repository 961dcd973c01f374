// Certificates for hybrid mode's cluster_mtls = pki, made with the openssl CLI: a CA and leaf
// certificates it signs (EC P-256, for a server name and usable as client certificates too),
// written as cluster.crt / cluster.key into a folder per node, as hybridFixture's nodes read them.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface ClusterCa {
  /** The CA certificate file (cluster_ca_cert). */
  caFile: string;
  caPem: string;
  /** A leaf for `cn` (also its DNS SAN) in `dir`/cluster.crt and cluster.key; returns `dir`. */
  issue(dir: string, cn: string): string;
}

export function clusterCa(dir: string, name: string): ClusterCa {
  fs.mkdirSync(dir, { recursive: true });
  const f = (n: string) => path.join(dir, n);
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(['req', '-x509', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.crt`), '-days', '30', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return {
    caFile: f(`${name}.crt`),
    caPem: fs.readFileSync(f(`${name}.crt`), 'utf8'),
    issue(out, cn) {
      fs.mkdirSync(out, { recursive: true });
      const o = (n: string) => path.join(out, n);
      fs.writeFileSync(o('leaf.ext'), `basicConstraints=CA:FALSE\nsubjectAltName=DNS:${cn}\nextendedKeyUsage=serverAuth,clientAuth\n`);
      run(['req', '-new', ...ec, '-keyout', o('cluster.key'), '-out', o('cluster.csr'), '-subj', `/CN=${cn}`]);
      run(['x509', '-req', '-in', o('cluster.csr'), '-CA', f(`${name}.crt`), '-CAkey', f(`${name}.key`), '-CAcreateserial', '-out', o('cluster.crt'), '-days', '30', '-extfile', o('leaf.ext')]);
      return out;
    },
  };
}
