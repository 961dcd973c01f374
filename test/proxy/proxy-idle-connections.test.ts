// 10,000 idle connections against a real node process (DB-less, one proxy worker): the node
// keeps serving while they are open, client_header_timeout closes them all, and its memory
// stays bounded (issue #18, item 3). The peak RSS is printed for the closing note.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { descendants, rssMb } from '../../sim/bench/proc.ts';
import { startNodeProcess } from '../support/cli.ts';
import { until } from '../support/until.ts';

const IDLE = 10_000;
let dir: string;
let upstream: http.Server;
let node: { child: ChildProcess; output: () => string };
const children: ChildProcess[] = [];
let proxyPort: number;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-idle-'));
  upstream = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const up = (upstream.address() as AddressInfo).port;
  fs.writeFileSync(path.join(dir, 'kong.yml'), `_format_version: "3.0"\nservices:\n- name: up\n  url: http://127.0.0.1:${up}\n  routes:\n  - name: all\n    paths: ["/"]\n`);
  proxyPort = await freePort();
  const file = path.join(dir, 'n.conf');
  fs.writeFileSync(
    file,
    `database = off\ndeclarative_config = ${path.join(dir, 'kong.yml')}\nprefix = ${path.join(dir, 'n')}\nnode_name = idle\n` +
      `proxy_listen = 127.0.0.1:${proxyPort}\nadmin_listen = 127.0.0.1:${await freePort()}\ncluster_listen = 127.0.0.1:${await freePort()}\n` +
      `worker_processes = 1\nnginx_http_client_header_timeout = 4s\n`,
  );
  node = startNodeProcess(file, children);
  await until('the proxy', async () => ((await fetch(`http://127.0.0.1:${proxyPort}/`).catch(() => null))?.status === 200 ? true : undefined), 60_000, node.output);
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
  upstream?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const nodeRss = () => descendants(node.child.pid!).reduce((s, p) => s + rssMb(p), 0);

test(`${IDLE} idle connections: still serving, all closed by client_header_timeout, memory bounded`, { timeout: 120_000 }, async () => {
  const before = nodeRss();
  let closed = 0;
  const sockets: net.Socket[] = [];
  for (let i = 0; i < IDLE; i++) {
    const s = net.connect(proxyPort, '127.0.0.1');
    s.on('error', () => {});
    s.on('close', () => closed++);
    // A byte of a request line and nothing more: the head never completes.
    s.on('connect', () => s.write('G'));
    sockets.push(s);
    if (i % 500 === 499) await new Promise((r) => setImmediate(r));
  }
  let peak = 0;
  const sample = setInterval(() => (peak = Math.max(peak, nodeRss())), 200);
  try {
    // While they are all open, a real request is served.
    await until('a request served beside the idle connections', async () => ((await fetch(`http://127.0.0.1:${proxyPort}/`)).status === 200 ? true : undefined), 20_000);
    await until('every idle connection closed', async () => (closed >= IDLE ? true : undefined), 60_000, () => `${closed} closed`);
  } finally {
    clearInterval(sample);
    for (const s of sockets) s.destroy();
  }
  expect((await fetch(`http://127.0.0.1:${proxyPort}/`)).status).toBe(200);
  console.log(`node RSS: ${before.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB with ${IDLE} idle connections (${(((peak - before) * 1024) / IDLE).toFixed(1)} KB each)`);
  // Bounded: well under 100 KB a connection (a node:http connection costs a few KB).
  expect(peak - before).toBeLessThan((IDLE * 100) / 1024);
});
