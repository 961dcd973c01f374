// One HTTP client for the whole simulator (undici, keep-alive) with a hard timeout per call:
// a paused node must cost a recorded failure, never a hung load generator.
import { Agent, request } from 'undici';

let agent: Agent | undefined;
// Made on first use and again after closeHttp(): one process may run several scenarios.
const dispatcher = () => (agent ??= new Agent({ connections: 128, keepAliveTimeout: 4_000, connectTimeout: 1_000 }));

export interface HttpResult {
  status: number;
  latency: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  error?: string;
}

export async function call(
  method: string,
  url: string,
  opts: { timeoutMs: number; json?: unknown; headers?: Record<string, string> },
): Promise<HttpResult> {
  const t0 = performance.now();
  try {
    const r = await request(url, {
      method: method as 'GET',
      dispatcher: dispatcher(),
      headers: { ...(opts.json !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
      body: opts.json !== undefined ? JSON.stringify(opts.json) : undefined,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    const body = await r.body.text();
    return { status: r.statusCode, latency: Math.round(performance.now() - t0), headers: r.headers, body };
  } catch (err) {
    const e = err as { code?: string; name?: string; cause?: { code?: string } };
    // An AbortSignal timeout is a DOMException whose numeric `code` (23) says nothing useful.
    const code = e.name === 'TimeoutError' || e.name === 'AbortError' ? 'timeout' : (e.code ?? e.cause?.code ?? e.name ?? 'error');
    return { status: 0, latency: Math.round(performance.now() - t0), headers: {}, body: '', error: String(code) };
  }
}

export function json<T>(r: HttpResult): T | undefined {
  try {
    return JSON.parse(r.body) as T;
  } catch {
    return undefined;
  }
}

export async function closeHttp(): Promise<void> {
  const a = agent;
  agent = undefined;
  await a?.close().catch(() => {});
}
