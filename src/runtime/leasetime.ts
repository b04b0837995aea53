// MicroTime formatting and Lease freshness (pure helpers shared by leader election, heartbeat and Host controller).

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits (the API server rejects other forms). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

/** Parse an RFC 3339 (Micro)Time to epoch ms; NaN when absent or malformed. */
export function parseTime(s: string | undefined | null): number {
  if (!s) return NaN;
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) return NaN;
  const frac = m[2] ? Number(`0.${m[2]}`) * 1000 : 0;
  return Date.parse(`${m[1]}${m[3]}`) + Math.floor(frac);
}

export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number | null;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number | null;
}

export interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  spec?: LeaseSpec;
  [k: string]: unknown;
}

/** When the lease runs out (renewTime + leaseDurationSeconds), or NaN if it was never renewed. */
export function leaseExpiry(lease: LeaseObject | undefined): number {
  const renew = parseTime(lease?.spec?.renewTime ?? undefined);
  const dur = lease?.spec?.leaseDurationSeconds;
  if (Number.isNaN(renew) || typeof dur !== 'number') return NaN;
  return renew + dur * 1000;
}

/** True while the lease's holder is considered alive at `nowMs` (the Host controller's Ready signal). */
export function isLeaseFresh(lease: LeaseObject | undefined, nowMs: number): boolean {
  const exp = leaseExpiry(lease);
  return !Number.isNaN(exp) && exp > nowMs && !!lease?.spec?.holderIdentity;
}
