import { Packr } from 'msgpackr';
import type { MemberInfo, WireMember } from './state.ts';

// What the membership layer puts on the wire (msgpackr). Gossip carries single state changes;
// the push-pull protocol carries whole tables; ping-req asks a member to probe another.

export const MEMBERSHIP_TOPIC = 'gossamer/membership/1';
/**
 * A membership message carries one member record (well under 2 KiB with a few addresses);
 * anything larger is refused before it is decoded. Application topics (configuration events,
 * counters) are bounded by gossipsub's own limit on an RPC (4 MiB).
 */
export const MAX_MEMBERSHIP_MESSAGE_BYTES = 64 * 1024;
export const PING_REQ_PROTOCOL = '/gossamer/membership/ping-req/1.0.0';
export const PUSH_PULL_PROTOCOL = '/gossamer/membership/push-pull/1.0.0';

export type GossipMessage =
  | { t: 'alive'; m: MemberInfo }
  | { t: 'left'; m: MemberInfo }
  /** `from` is the node id of the accuser; its peer id must have signed the message. */
  | { t: 'suspect'; id: string; inc: number; from: string }
  | { t: 'failed'; id: string; inc: number; from: string }
  /** DELETE /cluster/members/{id}: drop a failed or left member everywhere. */
  | { t: 'forget'; id: string; inc: number; from: string };

export interface PingReq {
  target: string;
  addresses: string[];
  timeout: number;
}

export interface PingReqReply {
  ok: boolean;
}

export interface PushPull {
  from: string;
  /** True when the sender is joining: the receiver answers and also learns it at once. */
  join: boolean;
  members: WireMember[];
}

const packr = new Packr({ useRecords: false });

export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function decode<T>(bytes: Uint8Array): T {
  return packr.unpack(bytes) as T;
}

const STATUSES = new Set(['alive', 'suspect', 'failed', 'left']);

/** Shape check of a member record from the network (a peer with the key can still be buggy). */
export function isMemberInfo(v: unknown): v is MemberInfo {
  const m = v as MemberInfo;
  return (
    !!m &&
    typeof m.id === 'string' &&
    typeof m.name === 'string' &&
    typeof m.peer_id === 'string' &&
    typeof m.address === 'string' &&
    Array.isArray(m.addresses) &&
    typeof m.role === 'string' &&
    typeof m.version === 'string' &&
    typeof m.config_version === 'number' &&
    typeof m.incarnation === 'number'
  );
}

export function isWireMember(v: unknown): v is WireMember {
  return isMemberInfo(v) && STATUSES.has((v as WireMember).status);
}
