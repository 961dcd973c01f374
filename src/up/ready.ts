// Waiting for a local cluster: every node's Admin API answers /status, then every node's
// /cluster/members lists all of them alive.
import { request } from 'undici';

export interface MemberView {
  name: string;
  status: string;
  address?: string;
}

async function getJson(url: string, timeoutMs = 2_000): Promise<{ status: number; body: unknown }> {
  const r = await request(url, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
  const text = await r.body.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: r.statusCode, body };
}

export async function statusOk(adminUrl: string): Promise<boolean> {
  try {
    return (await getJson(`${adminUrl}/status`)).status === 200;
  } catch {
    return false;
  }
}

/** The membership table as one node sees it, or null when the endpoint does not answer 200. */
export async function members(adminUrl: string): Promise<MemberView[] | null> {
  try {
    const r = await getJson(`${adminUrl}/cluster/members`);
    if (r.status !== 200) return null;
    const data = (r.body as { data?: MemberView[] }).data;
    return Array.isArray(data) ? data : null;
  } catch {
    return null;
  }
}

/** True when `view` lists every name in `names` as alive. */
export function allAlive(view: MemberView[] | null, names: string[]): boolean {
  if (!view) return false;
  return names.every((n) => view.some((m) => m.name === n && m.status === 'alive'));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
