// Counting the gossip messages gossipsub itself refuses before any topic validator runs (the
// validators in cluster.ts count the rest). gossipsub reports both to its peer score, a member
// of the service (gossipsub 15+ no longer lists it on the GossipSub interface it returns, the
// class still has it); its two hooks are wrapped here, on one host, once.
//  - rejectInvalidMessage: a message whose signature, signer or sequence number does not verify
//    under StrictSign (a forged announcement carrying a wrong signature);
//  - duplicateMessage: a message already seen. Every message reaches a node from up to D mesh
//    peers, so members' duplicates are the happy path and cost one map lookup here; a duplicate
//    from a connected peer that is no live member is a replay.
// Replays after gossipsub's seen window (2 minutes) are new messages to it: their signature
// holds, and the membership ignores the older incarnation they carry (state.ts).
import type { GossipSub } from '@libp2p/gossipsub';
import type { PeerScore } from '@libp2p/gossipsub/score';
import { countRefusal } from './metrics.ts';

/** `pubsub` is the host's gossipsub service. */
export function countGossipRefusals(pubsub: GossipSub, isLiveMember: (peerId: string) => boolean): void {
  const score = (pubsub as GossipSub & { score?: PeerScore }).score;
  if (!score) throw new Error('gossipsub has no peer score: the refusal counters cannot be attached');
  const rejectInvalid = score.rejectInvalidMessage.bind(score);
  score.rejectInvalidMessage = (from, topic) => {
    countRefusal('signature');
    rejectInvalid(from, topic);
  };
  const duplicate = score.duplicateMessage.bind(score);
  score.duplicateMessage = (from, msgIdStr, topic) => {
    if (!isLiveMember(from)) countRefusal('replay');
    duplicate(from, msgIdStr, topic);
  };
}
