// The placement wave: many VMs placed at once (a cold start, a drained or new host). While one passes,
// HostFilter writes wait for it (each host is written once with all the VMs that landed on it, not
// once per handful), and the VM controller's grace for assumed VMs counts from its end.
//
// The signal is the rate of new placements, not the VM queue's depth: VMs queued because their host's
// filter was applied (to be written Running) change no filter, and counting them held filter writes
// back for as long as earlier ones landed.

/** At least this many new placements within WAVE_WINDOW_MS make a wave. */
export const WAVE_MIN_PLACEMENTS = 32;
export const WAVE_WINDOW_MS = 250;
/** No host's filter waits longer than this for a wave (a cluster that never stops placing VMs). */
export const WAVE_HOLD_MAX_MS = 15_000;

export class PlacementWave {
  /** Times of the recent placements, oldest first (at most WAVE_MIN_PLACEMENTS kept). */
  private recent: number[] = [];
  private lastBusyAt = -Infinity;

  /** The VM controller bound a VM to a host it was not on. */
  placed(now: number): void {
    this.recent.push(now);
    if (this.recent.length > WAVE_MIN_PLACEMENTS) this.recent.shift();
  }

  /** Is a wave passing now (remembered for `after`). */
  busy(now: number): boolean {
    const full = this.recent.length >= WAVE_MIN_PLACEMENTS && now - this.recent[0]! <= WAVE_WINDOW_MS;
    if (full) this.lastBusyAt = now;
    return full;
  }

  /** The later of `t` and the last moment a wave was seen passing. */
  after(t: number): number {
    return Math.max(t, this.lastBusyAt);
  }
}
