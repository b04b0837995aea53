// Host status as a pure function of the agent's Lease, the host's HostFilter and its allocations.
import type { Host, HostFilter, HostFilterSpec } from '../api';
import { setConditions, type ConditionInput } from '../runtime/conditions';
import { describeTooLarge, type TooLargeFilter } from './too-large';

export interface LeaseView {
  holderIdentity?: string;
  renewTime?: string;
  leaseDurationSeconds?: number;
}

export interface HostStatusInput {
  host: Host;
  lease: LeaseView | undefined;
  filter: HostFilter | undefined;
  /** Size of the compiled (desired) filter: its spec is the compiler's, not kept in the cache. */
  compiled: Pick<HostFilterSpec, 'programs' | 'bindings'> | undefined;
  allocated: { vms: number; vnics: number };
  /** The compiled filter could not be written (over the request limit). */
  tooLarge?: TooLargeFilter;
  now: Date;
}

export interface HostStatusDecision {
  status: NonNullable<Host['status']>;
  ready: boolean;
  /** When Ready would flip to False without a new heartbeat (ms from now); undefined when not Ready. */
  recheckAfterMs: number | undefined;
}

/** When the heartbeat renewed at `renewTime` expires (ms since the epoch). */
const expiresAt = (renewTime: string, lease: LeaseView) => Date.parse(renewTime) + (lease.leaseDurationSeconds ?? 40) * 1000;

/**
 * Whether Lease `b` only renews heartbeat `a` before it expired, by the same holder: Ready stays True
 * with the same message, and the recheck the last reconcile scheduled (at or before `a`'s expiry, see
 * recheckAfterMs) reads `b` in time. Such a renewal needs no reconcile of its own: 512 agents renew
 * every few seconds at vmworld, and each renewal was a reconcile that found nothing to write.
 */
export function renewedInTime(a: LeaseView | undefined, b: LeaseView | undefined, now: number): boolean {
  if (!a?.renewTime || !b?.renewTime || a.holderIdentity !== b.holderIdentity) return false;
  const was = expiresAt(a.renewTime, a);
  return was > now && expiresAt(b.renewTime, b) >= was;
}

/** Ready: the agent's heartbeat Lease was renewed within its duration. */
export function heartbeat(lease: LeaseView | undefined, now: Date): ConditionInput & { expiresInMs?: number } {
  if (!lease?.renewTime)
    return { type: 'Ready', status: 'False', reason: 'NoHeartbeat', message: 'no agent has reported for this host yet' };
  const expires = expiresAt(lease.renewTime, lease);
  const left = expires - now.getTime();
  if (left <= 0)
    return {
      type: 'Ready',
      status: 'False',
      reason: 'AgentLost',
      message: `agent heartbeat expired at ${new Date(expires).toISOString()}`,
    };
  return { type: 'Ready', status: 'True', reason: 'AgentHeartbeat', message: `agent ${lease.holderIdentity ?? ''} is reporting`.trim(), expiresInMs: left };
}

/**
 * FilterConverged: the agent reports the filter the operator compiled. A compiled filter too large to
 * write is not converged whatever the agent applied: the host enforces an older filter.
 */
export function converged(filter: HostFilter | undefined, tooLarge?: TooLargeFilter): ConditionInput {
  const applied = filter?.status?.appliedHash;
  if (tooLarge)
    return {
      type: 'FilterConverged',
      status: 'False',
      reason: 'TooLarge',
      message: `${describeTooLarge(tooLarge)}; not written: ${applied ? `the host keeps filter ${applied}` : 'the host has no filter applied'}`,
    };
  if (!filter) return { type: 'FilterConverged', status: 'False', reason: 'NotCompiled', message: 'no HostFilter yet' };
  if (applied === filter.spec.hash)
    return { type: 'FilterConverged', status: 'True', reason: 'Converged', message: `filter ${applied} applied` };
  const agent = filter.status?.conditions?.find((c) => c.type === 'Applied');
  if (agent && agent.status === 'False' && agent.reason !== 'Applying')
    return { type: 'FilterConverged', status: 'False', reason: agent.reason, message: agent.message };
  return {
    type: 'FilterConverged',
    status: 'False',
    reason: 'Pending',
    message: `waiting for the agent to apply ${filter.spec.hash}${applied ? ` (applied: ${applied})` : ''}`,
  };
}

export function decideHostStatus(input: HostStatusInput): HostStatusDecision {
  const { host, filter, now } = input;
  const gen = host.metadata.generation;
  const hb = heartbeat(input.lease, now);
  const { expiresInMs, ...ready } = hb;
  // An agent that stopped heartbeating vouches for nothing: it may have crashed with its state.
  const conv: ConditionInput =
    ready.status === 'True'
      ? converged(filter, input.tooLarge)
      : { type: 'FilterConverged', status: 'False', reason: ready.reason, message: `the agent is not reporting: nothing it applied${filter?.status?.appliedHash ? ` (filter ${filter.status.appliedHash})` : ''} is counted on` };
  const conds = [ready, conv].map((c) => ({ ...c, observedGeneration: gen }));
  const status: NonNullable<Host['status']> = {
    observedGeneration: gen,
    allocated: { ...input.allocated },
    filter: {
      desiredHash: filter?.spec.hash,
      appliedHash: filter?.status?.appliedHash,
      programs: input.compiled?.programs.length ?? 0,
      rules: input.compiled ? input.compiled.programs.reduce((n, p) => n + p.egress.length + p.ingress.length, 0) : 0,
      bindings: input.compiled?.bindings.length ?? 0,
    },
    conditions: setConditions(host.status?.conditions, conds, now),
  };
  return { status, ready: ready.status === 'True', recheckAfterMs: expiresInMs };
}
