// Kong's 03-upstream_headers_spec checks the same X-Real-IP / X-Forwarded-* rows with the
// default configuration and with a non-trusted peer: both translations take them from here.
// A row: the spec's `it` title, the headers the client sends, the header the upstream reads,
// what it must hold (a function when it is known only once the proxy listens).
export type HeaderCase = [title: string, sent: Record<string, string>, header: string, want: string | (() => string)];

/** The rows for a peer outside trusted_ips reaching the proxy on `port()`, Host headers-inspect.test. */
export function untrustedHeaderCases(port: () => number): HeaderCase[] {
  return [
    ['X-Real-IP should be added if not present in request', {}, 'x-real-ip', '127.0.0.1'],
    ['X-Real-IP should be replaced if present in request', { 'X-Real-IP': '10.0.0.1' }, 'x-real-ip', '127.0.0.1'],
    ['X-Forwarded-For should be added if not present in request', {}, 'x-forwarded-for', '127.0.0.1'],
    ['X-Forwarded-For should be appended if present in request', { 'X-Forwarded-For': '10.0.0.1' }, 'x-forwarded-for', '10.0.0.1, 127.0.0.1'],
    ['X-Forwarded-Proto should be added if not present in request', {}, 'x-forwarded-proto', 'http'],
    ['X-Forwarded-Proto should be replaced if present in request', { 'X-Forwarded-Proto': 'https' }, 'x-forwarded-proto', 'http'],
    ['X-Forwarded-Host should be added if not present in request', {}, 'x-forwarded-host', 'headers-inspect.test'],
    ['X-Forwarded-Host should be replaced if present in request', { 'X-Forwarded-Host': 'example.test' }, 'x-forwarded-host', 'headers-inspect.test'],
    ['X-Forwarded-Port should be added if not present in request', {}, 'x-forwarded-port', () => String(port())],
    ['X-Forwarded-Port should be replaced if present in request', { 'X-Forwarded-Port': '80' }, 'x-forwarded-port', () => String(port())],
  ];
}
