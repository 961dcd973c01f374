import type { Cluster } from '../cluster/cluster.ts';
import { MembershipError } from '../cluster/membership.ts';
import type { AdminRequest, AdminResponse, Router } from './router.ts';

// GET /cluster/members[/{id|name}], DELETE /cluster/members/{id|name} (Kong 0.x's
// `DELETE /cluster` force-leave), and the chaos simulator's partition switch.

export interface ClusterMembersDeps {
  /** The running cluster, or null while it is not started (answers 503). */
  cluster: () => Pick<Cluster, 'members' | 'member' | 'forceLeave' | 'setBlocked' | 'blocked'> | null;
  /** cluster_test_partitions. */
  testPartitions?: boolean;
  /** True when every admin_listen address is loopback: the partition switch is refused otherwise. */
  adminIsLoopback?: boolean;
}

const unavailable: AdminResponse = { status: 503, body: { message: 'cluster membership is not running on this node' } };

export function listMembers(deps: ClusterMembersDeps): AdminResponse {
  const c = deps.cluster();
  if (!c) return unavailable;
  const data = c.members();
  return { status: 200, body: { data, total: data.length } };
}

export function getMember(deps: ClusterMembersDeps, params: { id: string }): AdminResponse {
  const c = deps.cluster();
  if (!c) return unavailable;
  const m = c.member(params.id);
  return m ? { status: 200, body: m } : { status: 404, body: { message: 'Not found' } };
}

export function deleteMember(deps: ClusterMembersDeps, params: { id: string }): AdminResponse {
  const c = deps.cluster();
  if (!c) return unavailable;
  try {
    c.forceLeave(params.id);
    return { status: 204 };
  } catch (err) {
    if (err instanceof MembershipError) return { status: err.status, body: { message: err.message } };
    throw err;
  }
}

export function partitionsAllowed(deps: ClusterMembersDeps): boolean {
  return !!deps.testPartitions && !!deps.adminIsLoopback;
}

export async function putBlocked(deps: ClusterMembersDeps, body: Record<string, unknown>): Promise<AdminResponse> {
  const c = deps.cluster();
  if (!c) return unavailable;
  const peers = body.peers ?? [];
  const list = typeof peers === 'string' ? [peers] : peers;
  if (!Array.isArray(list) || !list.every((p) => typeof p === 'string')) {
    return { status: 400, body: { message: 'schema violation (peers: expected an array of peer ids, addresses or member names)', name: 'schema violation', code: 2, fields: { peers: 'expected an array of strings' } } };
  }
  const blocked = await c.setBlocked(list as string[]);
  return { status: 200, body: { peers: blocked } };
}

export function registerClusterMembers(router: Router, deps: ClusterMembersDeps): void {
  router.add('GET', '/cluster/members', () => listMembers(deps));
  router.add('GET', '/cluster/members/:id', (req: AdminRequest) => getMember(deps, { id: req.params.id! }));
  router.add('DELETE', '/cluster/members/:id', (req: AdminRequest) => deleteMember(deps, { id: req.params.id! }));
  // Off unless cluster_test_partitions = on and the Admin API is loopback-only: the route does not exist otherwise.
  if (partitionsAllowed(deps)) {
    router.add('PUT', '/cluster/test/blocked', async (req: AdminRequest) => putBlocked(deps, await req.body()));
    router.add('GET', '/cluster/test/blocked', () => {
      const c = deps.cluster();
      return c ? { status: 200, body: { peers: c.blocked() } } : unavailable;
    });
  }
}
