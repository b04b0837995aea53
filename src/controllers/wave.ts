// The placement wave: many VMs waiting for their first placement decision at once (a cold start, a
// burst of creations). While one passes, HostFilter writes wait for it (each host is written once
// with all the VMs that landed on it, not once per handful), and the VM controller's grace for
// assumed VMs counts from its end.
//
// The signal is the number of VMs not decided yet, not the VM queue's depth or the placement rate:
// VMs queued because their host's filter was applied (to be written Running) change no filter, and
// the placement rate drops whenever the compiler takes a large batch, which ended the "wave" early.

/** At least this many VMs without a placement decision make a wave. */
export const WAVE_MIN_UNDECIDED = 64;
/** No host's filter waits longer than this for a wave (a cluster that never stops placing VMs). */
export const WAVE_HOLD_MAX_MS = 15_000;

export class PlacementWave {
  private lastBusyAt = -Infinity;
  private undecided: () => number = () => 0;

  /** Where the count of undecided VMs comes from (the VM controller, once it exists). */
  track(undecided: () => number): void {
    this.undecided = undecided;
  }

  /** Is a wave passing now (remembered for `after`). */
  busy(now: number): boolean {
    if (this.undecided() < WAVE_MIN_UNDECIDED) return false;
    this.lastBusyAt = now;
    return true;
  }

  /** The later of `t` and the last moment a wave was seen passing. */
  after(t: number): number {
    return Math.max(t, this.lastBusyAt);
  }
}
