// The shared vocabulary of a verdict: the reference evaluator, the compiler and the classifier all speak it.
import type { Protocol } from '../api';

export type Direction = 'ingress' | 'egress';
export type DecisionTier = 'Provider' | 'Tenant' | 'Baseline' | 'Default';
export type Verdict = 'Allow' | 'Deny';
/** A concrete packet protocol (never "Any"). */
export type PacketProtocol = Exclude<Protocol, 'Any'>;

/** Which tier, policy and rule decided one side of a packet. */
export interface Decision {
  verdict: Verdict;
  tier: DecisionTier;
  /** "namespace/name" of the deciding SecurityPolicy, null for implicit decisions. */
  policy: string | null;
  /** Rule name, or the name of the implicit rule (see IMPLICIT_RULES), null when unknown. */
  rule: string | null;
}

/** Names of the rules that are not written by anyone but follow from the semantics. */
export const IMPLICIT_RULES = {
  /** Tenant tier selected the vNIC in this direction and nothing matched. */
  isolation: 'tenant-isolation',
  /** Default tier: the peer is a vNIC of the same tenant. */
  sameTenant: 'default-same-tenant',
  /** Default tier: anything else. */
  defaultDeny: 'default-deny',
  /** The VM is quarantined (pinned to an infeasible host): deny-all. */
  quarantine: 'quarantine',
  /** Egress with a source IP or MAC other than the vNIC's bound ones (DESIGN rule 0): before any tier. */
  spoofguard: 'spoofguard',
} as const;

/** Verdict for a whole packet: egress at the source, ingress at the destination. */
export interface PacketVerdict {
  verdict: Verdict;
  egress: Decision | null;
  ingress: Decision | null;
}
