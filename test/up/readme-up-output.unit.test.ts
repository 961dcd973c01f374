// The `npm start` output shown in the README is what `gossamer up` prints with its defaults
// (the table and the examples come from the same functions the launcher uses).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { examplesText, table } from '../../src/up/banner.ts';
import { DEFAULTS } from '../../src/up/launcher.ts';
import { nodePorts } from '../../src/up/ports.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

function sample(): string {
  const after = README.slice(README.indexOf('`npm start` runs `gossamer up`'));
  return /```text\n([\s\S]*?)```/.exec(after)![1]!;
}

test('the README shows the node table gossamer up prints with its default ports', () => {
  const rows = nodePorts(DEFAULTS.basePort, DEFAULTS.nodes).map((n) => ({
    name: n.name,
    proxy: `http://127.0.0.1:${n.proxy}`,
    admin: `http://127.0.0.1:${n.admin}`,
    cluster: `127.0.0.1:${n.cluster}`,
    status: 'alive',
  }));
  expect(sample()).toContain(table(rows));
  expect(sample()).toContain(`behind the load balancer at http://127.0.0.1:${DEFAULTS.port}`);
});

test('the README shows the examples gossamer up prints with its default ports', () => {
  const text = examplesText({
    adminUrl: `http://127.0.0.1:${DEFAULTS.basePort + 1}`,
    balancerUrl: `http://127.0.0.1:${DEFAULTS.port}`,
    echoUrl: `http://127.0.0.1:${DEFAULTS.echoPort}`,
  });
  expect(sample()).toContain(text);
});

test('the flag table documents every default', () => {
  for (const [flag, value] of [
    ['--nodes N', DEFAULTS.nodes],
    ['--port P', DEFAULTS.port],
    ['--base-port B', DEFAULTS.basePort],
    ['--pg-port P', DEFAULTS.pgPort],
    ['--echo-port P', DEFAULTS.echoPort],
    ['--dir D', DEFAULTS.dir],
  ] as const) {
    expect(README).toContain(`| \`${flag}\` | \`${value}\` |`);
  }
});
