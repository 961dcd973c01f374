// The timings of configuration propagation, for both strategies in one place: how often a node
// tells the cluster what it holds, how often it compares with what others announce, and how
// long a gap or a differing hash may last before it repairs. Where the strategies differ, the
// reason is given: they see different things (gossip between peers with a database, pushes
// from control planes to data planes without one).

/**
 * Our config_version/config_hash reach the cluster at most this often, however many changes go
 * by. Each announcement is a signed membership message every member verifies: 20 ms after each
 * change, five data planes announcing landed while the slowest of them was still applying that
 * change (or the next), on the same two cores. Every role announces at this pace.
 */
export const ANNOUNCE_MS = 200;

/**
 * What a node learned from others (a change it received, a repair, a reload) is announced
 * between this long and twice this long afterwards instead, each node at its own random moment.
 * Every node's state changes with every change, so announcing at once made each change N
 * signed messages that every node verifies, landing together with the change's own gossip
 * (about half of a node's CPU per change at 10 nodes, more in larger clusters). Nobody
 * waits for those: the writer's own announcement (at ANNOUNCE_MS) is what tells a node that
 * missed the change that it is behind, and a differing hash waits GOSSIP_MISMATCH_GRACE_MS anyway.
 */
export const ANNOUNCE_LAZY_MS = 2000;

/** How often what others announce is compared with what this node holds (both strategies). */
export const WATCH_MS = 1000;

/**
 * Gossip: how long a missing version may wait before Postgres is read. Two writers committing
 * together publish in either order, a few milliseconds apart.
 */
export const GOSSIP_GAP_GRACE_MS = 10;

/**
 * Push: how long a gap may wait before a control plane is asked. Changes made on two control
 * planes at once reach a data plane on two streams, in either order, each a hop away.
 */
export const PUSH_GAP_GRACE_MS = 50;

/**
 * Gossip: same config_version, other config_hash than a peer's for this long → reload from
 * Postgres (then backing off, doubling up to 5 minutes: the other side may be the wrong one).
 */
export const GOSSIP_MISMATCH_GRACE_MS = 5000;

/** Push: same config_version, other config_hash than a control plane's for this long → fresh snapshot. */
export const PUSH_MISMATCH_GRACE_MS = 2000;
