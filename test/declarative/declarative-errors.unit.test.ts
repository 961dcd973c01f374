// Kong's 400 bodies for an invalid declarative configuration, as spec/02-integration/
// 04-admin_api/15-off_spec.lua (POST /config) expects them, built without a database.
import { describe, expect, test } from 'vitest';
import { snapshotFromDocument, snapshotFromText } from '../../src/declarative/build.ts';
import { DeclarativeError, declarativeErrorBody } from '../../src/declarative/problems.ts';

function bodyOf(text: string, flatten = false): Record<string, unknown> {
  try {
    snapshotFromText(text);
  } catch (err) {
    if (err instanceof DeclarativeError) return declarativeErrorBody(err.details, { flatten });
    throw err;
  }
  throw new Error('expected the configuration to be refused');
}

function flattenedOf(doc: Record<string, unknown>): unknown {
  try {
    snapshotFromDocument(doc);
  } catch (err) {
    if (err instanceof DeclarativeError) return declarativeErrorBody(err.details, { flatten: true }).flattened_errors;
    throw err;
  }
  throw new Error('expected the configuration to be refused');
}

describe('15-off_spec.lua /config POST', () => {
  test('returns 400 on an invalid config string', () => {
    expect(bodyOf('bobby tables')).toEqual({
      code: 14,
      fields: { error: 'failed parsing declarative configuration: expected an object' },
      message: 'declarative config is invalid: {error="failed parsing declarative configuration: expected an object"}',
      name: 'invalid declarative configuration',
    });
  });

  test('returns 400 on a validation error', () => {
    expect(bodyOf('_format_version: "1.1"\nservices:\n- port: -12\n')).toEqual({
      code: 14,
      fields: { services: [{ host: 'required field missing', port: 'value should be between 0 and 65535' }] },
      message: 'declarative config is invalid: {services={{host="required field missing",port="value should be between 0 and 65535"}}}',
      name: 'invalid declarative configuration',
    });
  });

  test('returns 400 on an primary key uniqueness error', () => {
    const id = '0855b320-0dd2-547d-891d-601e9b38647f';
    const msg = `uniqueness violation: 'services' entity with primary key set to '${id}' already declared`;
    const body = bodyOf(`_format_version: "1.1"
services:
- id: ${id}
  name: foo
  host: example.com
  protocol: https
  routes:
  - name: foo
    methods: ["GET"]
    plugins:
      - name: key-auth
- id: ${id}
  name: bar
  host: example.test
  port: 3000
  routes:
  - name: bar
    paths:
    - /
    plugins:
    - name: basic-auth
`);
    expect(body.fields).toEqual({ services: [null, msg] });
    expect(body.message).toBe(`declarative config is invalid: {services={[2]="${msg}"}}`);
  });

  test('returns 400 on an endpoint key uniqueness error', () => {
    const msg = "uniqueness violation: 'services' entity with name set to 'foo' already declared";
    const body = bodyOf('_format_version: "1.1"\nservices:\n- name: foo\n  host: example.com\n- name: foo\n  host: example.test\n');
    expect(body.fields).toEqual({ services: [null, msg] });
  });

  test('every problem is listed, each at its place, nested ones included', () => {
    const body = bodyOf(`_format_version: "3.0"
unknown: 1
services:
- name: a
  host: example.test
  retries: many
  routes:
  - name: r
    paths: [no-slash]
consumers:
- username: bob
  keyauth_credentials:
  - key: 5
`);
    expect(body.fields).toMatchObject({
      unknown: 'unknown field',
      services: [{ retries: expect.any(String), routes: [{ paths: expect.anything() }] }],
      consumers: [{ keyauth_credentials: [{ key: expect.any(String) }] }],
    });
  });

  test('flatten_errors: one item per entity, with its type, the entity and its errors', () => {
    const body = bodyOf('_format_version: "3.0"\nservices:\n- name: s1\n  tags: [t1]\n  port: -1\n', true);
    expect(body.fields).toEqual({});
    expect(body.flattened_errors).toEqual([
      {
        entity_name: 's1',
        entity_tags: ['t1'],
        entity_type: 'service',
        entity: { name: 's1', tags: ['t1'], port: -1 },
        errors: [
          { type: 'field', field: 'host', message: 'required field missing' },
          { type: 'field', field: 'port', message: 'value should be between 0 and 65535' },
        ],
      },
    ]);
  });
});

describe('_comment, _ignore and _format_version', () => {
  test('_comment and _ignore are accepted at the top and on every entity, and dropped', () => {
    const s = snapshotFromText(`_format_version: "3.0"
_comment: top
_ignore: [anything]
services:
- name: a
  host: example.test
  _comment: on a service
  _ignore: [x, {y: 1}]
  routes:
  - name: r
    _comment: on a nested route
    paths: [/r]
`);
    expect(s.services[0]).not.toHaveProperty('_comment');
    expect(s.routes[0]).not.toHaveProperty('_comment');
    expect(s.routes[0]!.service!.id).toBe(s.services[0]!.id);
  });

  test('a missing or unknown _format_version is refused', () => {
    expect(bodyOf('services: []\n').fields).toEqual({ _format_version: 'required field missing' });
    expect(bodyOf('_format_version: "4.0"\n').fields).toEqual({ _format_version: 'expected one of: 1.1, 2.1, 3.0' });
  });

  test('the same file gives the same ids and config on every build', () => {
    const text = '_format_version: "3.0"\nservices:\n- name: a\n  host: example.test\n  routes:\n  - paths: [/x]\n';
    const a = snapshotFromText(text);
    const b = snapshotFromText(text);
    expect(a.services[0]!.id).toBe(b.services[0]!.id);
    expect(a.routes[0]!.id).toBe(b.routes[0]!.id);
  });
});

// spec/02-integration/04-admin_api/15-off_spec.lua, flatten_errors
describe('15-off_spec.lua flattened errors', () => {
  test('"correctly handles nested entity errors"', () => {
    const cred = (id: string, username: string, tag: string) => `      - id: ${id}\n        username: ${username}\n        password: pwd\n        tags: [${tag}]\n`;
    const text =
      '_format_version: "3.0"\nconsumers:\n' +
      '  - id: cdac30ee-cd7e-465c-99b6-84f3e4e17015\n    username: consumer-01\n    tags: [consumer-01]\n    basicauth_credentials:\n' +
      cred('089091f4-cb8b-48f5-8463-8319097be716', 'user-01', 'consumer-01-credential-01') +
      cred('b1443d61-ccd9-4359-b82a-f37515442295', 'user-11', 'consumer-01-credential-02') +
      cred('2603d010-edbe-4713-94ef-145e281cbf4c', 'user-02', 'consumer-01-credential-03') +
      cred('760cf441-613c-48a2-b377-36aebc9f9ed0', 'user-11', 'consumer-01-credential-04') +
      '  - id: c0c021f5-dae1-4031-bcf6-42e3c4d9ced9\n    username: consumer-02\n    tags: [consumer-02]\n    basicauth_credentials:\n' +
      cred('d0cd1919-bb07-4c85-b407-f33feb74f6e2', 'user-99', 'consumer-02-credential-01') +
      '  - id: 9acb0270-73aa-4968-b9e4-a4924e4aced5\n    username: consumer-03\n    tags: [consumer-03]\n    basicauth_credentials:\n' +
      cred('7e8bcd10-cdcd-41f1-8c4d-9790d34aa67d', 'user-01', 'consumer-03-credential-01') +
      cred('7fe186bd-44e5-4b97-854d-85a24929889d', 'user-33', 'consumer-03-credential-02') +
      cred('6547c325-5332-41fc-a954-d4972926cdb5', 'user-02', 'consumer-03-credential-03') +
      cred('e091a955-9ee1-4403-8d0a-a7f1f8bafaca', 'user-33', 'consumer-03-credential-04');
    const expected = (consumer: string, id: string, username: string, tag: string) => ({
      entity: { consumer: { id: consumer }, id, tags: [tag], password: 'pwd', username },
      entity_id: id,
      entity_tags: [tag],
      entity_type: 'basicauth_credential',
      errors: [{ message: `uniqueness violation: 'basicauth_credentials' entity with username set to '${username}' already declared`, type: 'entity' }],
    });
    expect(bodyOf(text, true).flattened_errors).toEqual([
      expected('cdac30ee-cd7e-465c-99b6-84f3e4e17015', '760cf441-613c-48a2-b377-36aebc9f9ed0', 'user-11', 'consumer-01-credential-04'),
      expected('9acb0270-73aa-4968-b9e4-a4924e4aced5', '7e8bcd10-cdcd-41f1-8c4d-9790d34aa67d', 'user-01', 'consumer-03-credential-01'),
      expected('9acb0270-73aa-4968-b9e4-a4924e4aced5', '6547c325-5332-41fc-a954-d4972926cdb5', 'user-02', 'consumer-03-credential-03'),
      expected('9acb0270-73aa-4968-b9e4-a4924e4aced5', 'e091a955-9ee1-4403-8d0a-a7f1f8bafaca', 'user-33', 'consumer-03-credential-04'),
    ]);
  });

  test('"omits top-level entity_* fields if they are invalid"', () => {
    const body = bodyOf('_format_version: "3.0"\nservices:\n- id: 1234\n  name: false\n  tags: [service-01, [1.5]]\n  url: http://localhost:1234\n', true);
    const got = (body.flattened_errors as Record<string, unknown>[])[0]!;
    expect(got).not.toHaveProperty('entity_id');
    expect(got).not.toHaveProperty('entity_name');
    expect(got).not.toHaveProperty('entity_tags');
    expect(got.entity).toMatchObject({ id: 1234, name: false, tags: ['service-01', [1.5]] });
  });

  test('"flattens nested, non-entity field errors"', () => {
    const upstream = {
      name: 'bad',
      tags: ['upstream-01'],
      hash_on: 'ip',
      healthchecks: { active: { type: 'http', http_path: '/', https_verify_certificate: true, https_sni: 'example.com', timeout: 1, concurrency: -1, healthy: { interval: 0, successes: 0 }, unhealthy: { interval: 0, http_failures: 0 } } },
      host_header: 123,
    };
    expect(flattenedOf({ _format_version: '3.0', upstreams: [upstream] })).toEqual([
      {
        entity_type: 'upstream',
        entity_name: 'bad',
        entity_tags: ['upstream-01'],
        entity: upstream,
        errors: [
          { field: 'healthchecks.active.concurrency', message: 'value should be between 1 and 2147483648', type: 'field' },
          { field: 'host_header', message: 'expected a string', type: 'field' },
        ],
      },
    ]);
  });

  test('"flattens nested, entity field errors": a plugin that is not enabled, nested in a service', () => {
    const plugin = { name: 'i-do-not-exist', config: {}, tags: ['service_plugin-01'] };
    const got = flattenedOf({ _format_version: '3.0', services: [{ name: 'svc', url: 'https://localhost:1234', tags: ['service-01'], plugins: [plugin] }] });
    expect(got).toEqual([
      {
        entity: plugin,
        entity_name: 'i-do-not-exist',
        entity_tags: ['service_plugin-01'],
        entity_type: 'plugin',
        errors: [{ field: 'name', message: "plugin 'i-do-not-exist' not enabled; add it to the 'plugins' configuration property", type: 'field' }],
      },
    ]);
  });

  test('"preserves IDs from the input"', () => {
    const id = '0175e0e8-3de9-56b4-96f1-b12dcb4b6691';
    const [got] = flattenedOf({ _format_version: '3.0', services: [{ id, name: 'nope', host: 'localhost', port: 1234, protocol: 'nope', tags: ['service-01'] }] }) as Record<string, any>[];
    expect(got!.entity_id).toBe(id);
    expect(got!.entity.id).toBe(id);
  });

  test('"preserves foreign keys from nested entity collections"', () => {
    const id = 'cb019421-62c2-47a8-b714-d7567b114037';
    const service = { id, name: 'test', host: 'localhost', port: 1234, protocol: 'nope', tags: ['service-01'], routes: [{ super_duper_invalid: true, tags: ['route-01'] }] };
    const got = (flattenedOf({ _format_version: '3.0', services: [service] }) as Record<string, any>[]).find((e) => e.entity_tags?.[0] === 'route-01');
    expect(got!.entity.service).toEqual({ id });
  });

  test('"correctly handles duplicate upstream target errors"', () => {
    const target = { target: '10.244.0.12:80', weight: 1, tags: ['target-1'] };
    const dupe = { ...target, tags: ['target-2'] };
    const upstream = (name: string, id: string, targets: unknown[]) => ({ algorithm: 'round-robin', name, id, tags: ['k8s-name:httproute-testing'], targets });
    const got = flattenedOf({
      _format_version: '3.0',
      upstreams: [
        upstream('httproute.default.httproute-testing.0', 'e9792964-6797-482c-bfdf-08220a4f6832', [{ target: '10.244.0.11:80', weight: 1 }, { target: '10.244.0.12:80', weight: 1 }]),
        upstream('httproute.default.httproute-testing.1', 'f9792964-6797-482c-bfdf-08220a4f6839', [target, dupe]),
      ],
    }) as Record<string, any>[];
    const entry = got.find((e) => e.entity_tags?.[0] === 'target-2')!;
    expect(entry.errors).toEqual([{ type: 'entity', message: `uniqueness violation: 'targets' entity with primary key set to '${entry.entity_id}' already declared` }]);
    expect(entry.entity_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(got).toHaveLength(1);
  });

  test('an empty name is no entity_name either', () => {
    const got = (bodyOf('_format_version: "3.0"\nservices:\n- name: ""\n  url: https://localhost:1234\n', true).flattened_errors as Record<string, unknown>[])[0]!;
    expect(got).not.toHaveProperty('entity_name');
    expect(got.errors).toEqual([{ type: 'field', field: 'name', message: expect.any(String) }]);
  });
});
