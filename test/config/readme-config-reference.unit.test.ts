import fs from 'node:fs';
import { expect, test } from 'vitest';
import { configReference, END, prose, README, START, withReference } from '../../scripts/gen-config-reference.ts';
import { keys } from '../../src/config/schema.ts';

test('the README configuration reference is what scripts/gen-config-reference.ts generates', () => {
  const readme = fs.readFileSync(README, 'utf8');
  // On failure: node --import tsx scripts/gen-config-reference.ts
  expect(readme.slice(readme.indexOf(START), readme.indexOf(END) + END.length)).toBe(
    withReference(readme).slice(readme.indexOf(START), withReference(readme).indexOf(END) + END.length),
  );
});

test('the reference lists every key with its default and allowed values', () => {
  const ref = configReference();
  for (const [name, def] of Object.entries(keys)) {
    const row = ref.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
    expect(row, name).toBeDefined();
    expect(row).toContain(prose(def.allowed));
    if (def.default) expect(row).toContain(`\`${def.default}\``);
  }
});

test('a README without the markers is an error, not a silent no-op', () => {
  expect(() => withReference('# no markers here\n')).toThrow(/config-reference:start/);
});
