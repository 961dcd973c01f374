// vitest globalSetup: one real Postgres for the whole run; each test file makes its own
// database with `testDatabase()` so files stay independent and can run in parallel.
// GOSSAMER_TEST_PG_URL=postgres://user:pass@host:port points the suite at another server
// (e.g. Debian's Postgres 15: `pg_ctlcluster 15 main start`).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedPg } from '../../src/db/embedded.ts';

let pg: EmbeddedPg | undefined;
let dir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  let url = process.env.GOSSAMER_TEST_PG_URL;
  if (!url) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-test-pg-'));
    fs.chmodSync(dir, 0o777);
    pg = await startEmbeddedPostgres({ dir: path.join(dir, 'data') });
    url = `postgres://${pg.user}:${pg.password}@127.0.0.1:${pg.port}`;
  }
  project.provide('pgUrl', url);
}

export async function teardown(): Promise<void> {
  await pg?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
  }
}
