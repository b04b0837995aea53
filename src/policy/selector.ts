// metav1.LabelSelector matching and a canonical text form (for cache keys and lint comparisons).
import type { LabelSelector } from '../api';

export { selectorMatches } from '../api/label-selector';

/** True when the selector has no requirement at all. */
export function selectorIsEmpty(sel: LabelSelector | undefined): boolean {
  return !sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0);
}

/** Requirements as sorted canonical strings: equal selectors give equal lists. */
export function selectorRequirements(sel: LabelSelector | undefined): string[] {
  if (!sel) return [];
  const out = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const r of sel.matchExpressions ?? []) {
    const values = [...new Set(r.values ?? [])].sort();
    out.push(`${r.key} ${r.operator} (${values.join(',')})`);
  }
  return [...new Set(out)].sort();
}

/** Canonical text of a selector; "" for the empty selector. */
export function selectorKey(sel: LabelSelector | undefined): string {
  return selectorRequirements(sel).join(';');
}
