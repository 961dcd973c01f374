// When a data plane asks its control planes again, beyond the pushes it receives: a control
// plane joining or coming back, a new connection to one (an outage too short for membership
// to notice loses what was pushed meanwhile), and every second a look at what the control
// planes announce: a higher config_version, or the same one with another config_hash.
import type { Cluster, MemberView } from '../../cluster/index.ts';
import type { Logger } from '../../log.ts';
import { WATCH_MS } from '../timings.ts';

/** What the watch needs of the data plane's sync. */
export interface Watched {
  log: Logger;
  stopped(): boolean;
  /** A configuration is held (nothing to compare before). */
  loaded(): boolean;
  configVersion(): number;
  /** The cache's own hash (not the placeholder of an empty cache). */
  cacheHash(): string;
  fullSync(reason: string): Promise<void>;
  fetchEvents(reason: string): Promise<void>;
  /** A control plane failed or left. */
  controlPlaneLost(): void;
  /** Same version, other hash than a control plane's for this long → fresh snapshot. */
  mismatchGraceMs: number;
  stats: { mismatchResyncs: number };
}

const isCp = (m: MemberView) => m.role === 'control_plane';

export class ControlPlaneWatch {
  private timer: NodeJS.Timeout | null = null;
  private unlisten: (() => void) | null = null;
  private behindSince = 0;
  private mismatchSince = 0;
  private nextMismatchAt = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly s: Watched,
  ) {}

  start(): void {
    const { cluster, s } = this;
    cluster.on('member-joined', (m) => {
      if (isCp(m)) void s.fullSync(`control plane ${m.name} joined`);
    });
    cluster.on('member-updated', (m, prev) => {
      if (!isCp(m)) return;
      if (m.status === 'alive' && prev.previous_status !== 'alive' && prev.previous_status !== 'suspect') {
        // Back (a restart, or a false failure on a busy machine): what it has that we lack is
        // usually a few events; a control plane behind us (a restored database) gets a full look.
        if (s.loaded() && m.config_version >= s.configVersion()) void s.fetchEvents(`control plane ${m.name} is back`);
        else void s.fullSync(`control plane ${m.name} is back`);
      } else this.check();
    });
    // A new connection to a control plane may follow an outage too short for membership to
    // notice: what was pushed meanwhile is lost, so ask for it now.
    const onConnect = (evt: CustomEvent<{ toString(): string }>) => {
      const peer = evt.detail.toString();
      if (cluster.members().some((m) => m.peer_id === peer && m.role === 'control_plane')) void s.fetchEvents('control plane reconnected');
    };
    cluster.libp2p.addEventListener('peer:connect', onConnect);
    this.unlisten = () => cluster.libp2p.removeEventListener('peer:connect', onConnect);
    cluster.on('member-failed', (m) => {
      if (isCp(m)) s.controlPlaneLost();
    });
    cluster.on('member-left', (m) => {
      if (isCp(m)) s.controlPlaneLost();
    });
    this.timer = setInterval(() => this.check(), WATCH_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.unlisten?.();
  }

  /** Compare with what control planes announce; repair when behind or different. */
  private check(): void {
    const s = this.s;
    if (s.stopped() || !s.loaded()) return;
    const cps = this.cluster.members().filter((m) => m.role === 'control_plane' && m.status === 'alive');
    if (cps.length === 0) return;
    const now = Date.now();
    const mine = s.configVersion();
    const best = Math.max(...cps.map((m) => m.config_version));
    if (best > mine) {
      if (!this.behindSince) this.behindSince = now;
      // The push usually brings the events before the announcement; give it a moment.
      if (now - this.behindSince >= 300) {
        this.behindSince = now;
        void s.fetchEvents(`control plane at version ${best}`);
      } else {
        setTimeout(() => this.check(), 320).unref();
      }
      return;
    }
    this.behindSince = 0;
    const hash = s.cacheHash();
    const differing = cps.filter((m) => m.config_version === mine && m.config_hash && m.config_hash !== hash);
    if (differing.length === 0) {
      this.mismatchSince = 0;
      return;
    }
    if (!this.mismatchSince) this.mismatchSince = now;
    if (now - this.mismatchSince < s.mismatchGraceMs || now < this.nextMismatchAt) return;
    s.stats.mismatchResyncs++;
    s.log.warn({ config_version: mine, config_hash: hash, control_planes: differing.map((m) => ({ name: m.name, config_hash: m.config_hash })) }, 'config_hash differs from the control plane\'s at the same version; fetching a fresh snapshot');
    this.mismatchSince = 0;
    this.nextMismatchAt = now + 10_000;
    void s.fullSync('hash mismatch');
  }
}
