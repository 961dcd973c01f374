// `gossamer cluster gen-cert [--out DIR]`: Kong's `kong hybrid gen_cert` — the shared cluster
// certificate and key that control planes and data planes are configured with.
import path from 'node:path';
import type { Command } from 'commander';
import { generateClusterCert, writeClusterCert } from '../hybrid/cert.ts';
import { fail } from './load.ts';

export function addGenCert(clusterCmd: Command): void {
  clusterCmd
    .command('gen-cert')
    .description('write cluster.crt and cluster.key (shared cluster identity for control planes and data planes)')
    .option('--out <dir>', 'directory to write the two files into', '.')
    .option('--days <n>', 'validity of the certificate in days', '1095')
    .action((opts: { out: string; days: string }) => {
      try {
        const days = Number(opts.days);
        if (!Number.isInteger(days) || days < 1) throw new Error(`--days must be a positive whole number, got '${opts.days}'`);
        const files = writeClusterCert(path.resolve(opts.out), generateClusterCert({ days }));
        console.log(`wrote ${files.cert}\nwrote ${files.key} (keep it secret: whoever holds it can join the cluster)`);
        console.log(`\nCopy both files to every control plane and data plane and set:\n  cluster_cert = ${files.cert}\n  cluster_cert_key = ${files.key}`);
      } catch (err) {
        fail(err);
      }
    });
}
