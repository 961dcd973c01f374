import type { SimNode } from './node-process.ts';

/** One Admin API call on a node; JSON body in and out, anything but 2xx throws with the answer. */
export async function adminCall(node: SimNode, method: string, url: string, body?: unknown, timeoutMs = 10_000): Promise<any> {
  const r = await fetch(`${node.adminUrl}${url}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${node.name}: ${method} ${url} answered ${r.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}
