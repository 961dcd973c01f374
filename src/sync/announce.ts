// Telling the cluster which configuration this node holds (config_version + config_hash, in its
// membership state), for both strategies: peers and data planes compare it with their own and
// repair when behind or different.
import type { Logger } from '../log.ts';
import { ANNOUNCE_MS } from './timings.ts';

export interface AnnouncedState {
  config_version: number;
  config_hash: string;
}

export interface AnnounceTarget {
  setLocalState(state: AnnouncedState): unknown;
}

/** A debounced announcement (at most every ANNOUNCE_MS): the state is read when the timer fires, not when it is scheduled. */
export class Announcer {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    /** The cluster, once attached (null before, or after a detach). */
    private readonly target: () => AnnounceTarget | null,
    /** What to announce; null: nothing yet (a data plane holding no configuration). */
    private readonly state: () => AnnouncedState | null,
    private readonly log: Logger,
  ) {}

  schedule(): void {
    if (!this.target() || this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const state = this.state();
      if (!state) return;
      try {
        this.target()?.setLocalState(state);
      } catch (err) {
        this.log.debug({ err }, 'announcing config_version failed');
      }
    }, ANNOUNCE_MS);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
