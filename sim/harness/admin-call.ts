import type { SimNode } from './node-process.ts';

/** One Admin API call on a node, JSON in and out, whatever the status. */
export async function adminRequest(node: SimNode, method: string, url: string, body?: unknown, timeoutMs = 10_000): Promise<{ status: number; body: any }> {
  const r = await fetch(`${node.adminUrl}${url}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

/** adminRequest where anything but 2xx throws with the answer. */
export async function adminCall(node: SimNode, method: string, url: string, body?: unknown, timeoutMs = 10_000): Promise<any> {
  const r = await adminRequest(node, method, url, body, timeoutMs);
  if (r.status >= 300) throw new Error(`${node.name}: ${method} ${url} answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/** The status of one GET through the node's proxy; 0 when it did not answer in time. */
export async function proxiedStatus(node: SimNode, path: string, timeoutMs = 2000): Promise<number> {
  try {
    const r = await fetch(`${node.proxyUrl}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 0;
  }
}
