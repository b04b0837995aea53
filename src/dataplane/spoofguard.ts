// Spoof guard (DESIGN rule 0): a packet leaving a vNIC must carry that vNIC's bound source IP and MAC,
// else it is dropped before any tier. One rule, stated once here and used by every data path (the
// agent's, the stateful Dataplane, trace); the reference evaluator states it on its own.
import type { HostFilterSpec } from '../api';
import { type Decision, IMPLICIT_RULES } from '../policy/decision';
import { bindingKey } from './semantics';
import type { Classifier, Lookup } from './types';

/** The decision for a spoofed packet: implicit, before every tier (reported like quarantine, tier Provider). */
export const SPOOFGUARD: Decision = Object.freeze({ verdict: 'Deny', tier: 'Provider', policy: null, rule: IMPLICIT_RULES.spoofguard });

/** What a sending vNIC is bound to. */
export interface BoundAddress {
  ip: string;
  mac: string;
}

/** What an egress packet claims as its source; an absent field is not checked (a rule query, not a packet). */
export interface ClaimedSource {
  localIp?: string;
  localMac?: string;
}

/** MACs compare case-insensitively (the API accepts either case). */
const sameMac = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** True when the claimed source differs from the bound address. */
export function isSpoofed(bound: BoundAddress, claimed: ClaimedSource): boolean {
  if (claimed.localIp !== undefined && claimed.localIp !== bound.ip) return true;
  if (claimed.localMac !== undefined && !sameMac(claimed.localMac, bound.mac)) return true;
  return false;
}

/** The bound addresses of a HostFilter, by binding key. */
export function boundAddresses(spec: HostFilterSpec): Map<string, BoundAddress> {
  const m = new Map<string, BoundAddress>();
  for (const b of spec.bindings) m.set(bindingKey(b.vm, b.vnic), { ip: b.ip, mac: b.mac });
  return m;
}

/**
 * A classifier that applies the guard first: an egress lookup whose claimed source is not the vNIC's
 * bound one is SPOOFGUARD; everything else (ingress, unbound vNICs, no claim) goes to the inner
 * classifier unchanged, so an unbound vNIC still gets the inner classifier's "unbound" denial.
 */
export function withSpoofGuard(spec: HostFilterSpec, inner: Classifier): Classifier {
  const bound = boundAddresses(spec);
  return {
    classify(l: Lookup): Decision {
      if (l.direction === 'egress' && (l.localIp !== undefined || l.localMac !== undefined)) {
        const b = bound.get(bindingKey(l.vm, l.vnic));
        if (b && isSpoofed(b, l)) return SPOOFGUARD;
      }
      return inner.classify(l);
    },
  };
}
