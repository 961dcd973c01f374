// 500 malformed declarative configurations (fuzz-cases.ts, from a seed), checked in process as
// POST /config and declarative_config check them: each is refused with Kong's code 14 body and
// every problem has a location; none throws anything else.
import { expect, test } from 'vitest';
import { snapshotFromDocument, snapshotFromText } from '../../src/declarative/build.ts';
import { DeclarativeError, declarativeErrorBody } from '../../src/declarative/problems.ts';
import { FUZZ_SEED, fuzzCases, validDoc } from './fuzz-cases.ts';

test('the unmutated document is valid (so each refusal below is the mutation\'s doing)', () => {
  expect(() => snapshotFromDocument(validDoc())).not.toThrow();
});

test(`500 malformed configurations (seed ${FUZZ_SEED}) are each refused with every problem located`, () => {
  for (const c of fuzzCases(FUZZ_SEED, 500)) {
    let err: unknown = null;
    try {
      const parsed = c.contentType === 'application/json' ? (JSON.parse(c.body) as Record<string, unknown>) : null;
      if (parsed && typeof parsed.config === 'string') snapshotFromText(parsed.config);
      else if (parsed) snapshotFromDocument(parsed);
      else snapshotFromText(c.body);
    } catch (e) {
      err = e;
    }
    expect(err, c.what.join('; ')).toBeInstanceOf(DeclarativeError);
    const details = (err as DeclarativeError).details;
    expect(details.length, c.what.join('; ')).toBeGreaterThan(0);
    for (const p of details) expect(p.path.length > 0 || p.field !== undefined, `${c.what.join('; ')}: ${p.message}`).toBe(true);
    const body = declarativeErrorBody(details);
    expect(body.code).toBe(14);
    expect(Object.keys(body.fields as object).length, c.what.join('; ')).toBeGreaterThan(0);
  }
});
