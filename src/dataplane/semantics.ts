// Pieces of the HostFilter semantics shared by every classifier: tier order, Pass targets, decisions.
import type { CompiledRule } from '../api';
import type { Decision, DecisionTier } from '../policy/decision';

/** Tier rank: Pass continues at the first later rule of a strictly higher rank. */
export const TIER_RANK: Record<DecisionTier, number> = { Provider: 0, Tenant: 1, Baseline: 2, Default: 3 };

/** Nothing in the program matched. */
export const NO_MATCH: Decision = Object.freeze({ verdict: 'Deny', tier: 'Default', policy: null, rule: 'no-match' });
/** The (vm, vnic) has no binding on this host. */
export const UNBOUND: Decision = Object.freeze({ verdict: 'Deny', tier: 'Default', policy: null, rule: 'unbound' });

/** The decision a matching Allow/Deny rule yields (policy "" or absent → null). Equal decisions are one
 * shared frozen object, so that thousands of programs with the same provider rules share them. */
const decisionCache = new Map<string, Decision>();
export function ruleDecision(r: CompiledRule): Decision {
  if (r.action === 'Pass') throw new Error('a Pass rule yields no decision');
  const policy = r.policy ? r.policy : null;
  const key = `${r.action}\u0000${r.tier}\u0000${policy ?? ''}\u0000${r.rule}`;
  let d = decisionCache.get(key);
  if (!d) {
    if (decisionCache.size >= 100_000) decisionCache.clear(); // a cache, not a leak
    d = Object.freeze({ verdict: r.action, tier: r.tier, policy, rule: r.rule });
    decisionCache.set(key, d);
  }
  return d;
}

/**
 * For each rule, where evaluation continues when it matches with action Pass: the index of the first
 * later rule whose tier rank is higher, or rules.length (= no match) when there is none.
 */
export function passTargets(rules: readonly CompiledRule[]): Int32Array {
  const out = new Int32Array(rules.length);
  // Backward sweep: next[r] = nearest later rule index whose rank is above r (O(n), not O(n^2)).
  const next = [rules.length, rules.length, rules.length, rules.length];
  for (let i = rules.length - 1; i >= 0; i--) {
    const rank = TIER_RANK[rules[i]!.tier];
    out[i] = next[rank]!;
    for (let r = 0; r < rank; r++) next[r] = i;
  }
  return out;
}

/** Key of a binding in maps: vm and vnic joined by a character neither may contain. */
export const bindingKey = (vm: string, vnic: string): string => `${vm}\u0000${vnic}`;
