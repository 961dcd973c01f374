// Telling the cluster which configuration this node holds (config_version + config_hash, in its
// membership state), for both strategies: peers and data planes compare it with their own and
// repair when behind or different.
import type { Logger } from '../log.ts';
import { ANNOUNCE_LAZY_MS, ANNOUNCE_MS } from './timings.ts';

export interface AnnouncedState {
  config_version: number;
  config_hash: string;
}

export interface AnnounceTarget {
  /** Tell the cluster (a membership message every member verifies). */
  setLocalState(state: AnnouncedState): unknown;
  /** Show the state in this node's own member entry at once, telling nobody. */
  noteLocalState?(state: AnnouncedState): unknown;
}

/**
 * When an announcement goes out: 'now' for what this node made (ANNOUNCE_MS), 'lazy' for what
 * it learned from others (ANNOUNCE_LAZY_MS, spread; see timings.ts).
 */
export type AnnounceUrgency = 'now' | 'lazy';

/** A debounced announcement (at most every ANNOUNCE_MS): the state is read when the timer fires, not when it is scheduled. */
export class Announcer {
  private timer: NodeJS.Timeout | null = null;
  private dueAt = 0;
  private stopped = false;

  constructor(
    /** The cluster, once attached (null before, or after a detach). */
    private readonly target: () => AnnounceTarget | null,
    /** What to announce; null: nothing yet (a data plane holding no configuration). */
    private readonly state: () => AnnouncedState | null,
    private readonly log: Logger,
    /** Random in [0, 1): spreads the lazy announcements of many nodes (a parameter for tests). */
    private readonly random: () => number = Math.random,
  ) {}

  schedule(urgency: AnnounceUrgency = 'now'): void {
    const target = this.target();
    if (!target || this.stopped) return;
    // This node's own entry (GET /cluster/members) need not wait for the announcement.
    const state = this.state();
    if (state) target.noteLocalState?.(state);
    const delay = urgency === 'now' ? ANNOUNCE_MS : ANNOUNCE_LAZY_MS * (1 + this.random());
    // A pending announcement goes out at the earlier of the two moments.
    if (this.timer && this.dueAt <= Date.now() + delay) return;
    if (this.timer) clearTimeout(this.timer);
    this.dueAt = Date.now() + delay;
    this.timer = setTimeout(() => this.fire(), delay);
    this.timer.unref();
  }

  private fire(): void {
    this.timer = null;
    const state = this.state();
    if (!state) return;
    try {
      this.target()?.setLocalState(state);
    } catch (err) {
      this.log.debug({ err }, 'announcing config_version failed');
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
