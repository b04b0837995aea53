// One copy of the strings thousands of cached objects repeat. JSON.parse makes a new string for every
// value, so at vmworld the operator's cache held 309,000 copies of "vmsafe.io/v1alpha1" and a copy of
// every condition's type, status, reason, message and timestamp per object: 170 MB of its 1 GB heap
// were duplicate strings. Only fields whose values repeat across objects are interned (names, uids and
// addresses are unique: a table of them would only add memory). A namespace repeats in every object
// of a tenant (412,000 copies of 40,000 names at vmworld), a creation time in every object made in
// the same second, a policy warning in every policy that has it.

/** Distinct strings kept; past this the table starts over (a string interned later is a new copy). */
const TABLE_LIMIT = 100_000;

export class StringInterner {
  private table = new Map<string, string>();

  intern(s: string): string {
    const have = this.table.get(s);
    if (have !== undefined) return have;
    if (this.table.size >= TABLE_LIMIT) this.table = new Map();
    this.table.set(s, s);
    return s;
  }

  get size(): number {
    return this.table.size;
  }
}

const CONDITION_FIELDS = ['type', 'status', 'reason', 'message', 'lastTransitionTime'] as const;

const METADATA_FIELDS = ['namespace', 'creationTimestamp'] as const;

/**
 * Intern the repeated strings of a decoded object in place: apiVersion, kind, metadata.namespace and
 * creationTimestamp, status.phase, status.warnings and every status condition's fields. The object
 * must be the caller's own (a fresh decode), not a shared one.
 */
export function internCommonStrings(obj: Record<string, unknown>, interner: StringInterner): void {
  if (typeof obj.apiVersion === 'string') obj.apiVersion = interner.intern(obj.apiVersion);
  if (typeof obj.kind === 'string') obj.kind = interner.intern(obj.kind);
  const meta = obj.metadata as Record<string, unknown> | undefined;
  if (meta && typeof meta === 'object')
    for (const f of METADATA_FIELDS) {
      const v = meta[f];
      if (typeof v === 'string') meta[f] = interner.intern(v);
    }
  const status = obj.status as Record<string, unknown> | undefined;
  // A frozen status is shared, and was interned when it was first decoded (see memoParts).
  if (!status || typeof status !== 'object' || Object.isFrozen(status)) return;
  if (typeof status.phase === 'string') status.phase = interner.intern(status.phase);
  const warnings = status.warnings;
  if (Array.isArray(warnings)) for (let i = 0; i < warnings.length; i++) if (typeof warnings[i] === 'string') warnings[i] = interner.intern(warnings[i] as string);
  const conditions = status.conditions;
  if (!Array.isArray(conditions)) return;
  for (const c of conditions as Record<string, unknown>[]) {
    if (!c || typeof c !== 'object') continue;
    for (const f of CONDITION_FIELDS) {
      const v = c[f];
      if (typeof v === 'string') c[f] = interner.intern(v);
    }
  }
}

