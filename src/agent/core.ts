// The simulated hypervisor's programmed state: apply a HostFilter, detect drift, report status.
// No I/O here: the agent loop (agent.ts) feeds it objects and writes what it returns.
import { createHash } from 'node:crypto';
import type { Condition, HostFilter, HostFilterSpec } from '../api';
import { SPOOFGUARD, withSpoofGuard } from '../dataplane/spoofguard';
import type { BuildClassifier, Classifier, Lookup } from '../dataplane/types';
import type { Decision } from '../policy/decision';
import { NO_FAULTS, type AgentFaults } from './faults';

export interface AgentCounters {
  lookups: number;
  allowed: number;
  denied: number;
  applies: number;
  applyFailures: number;
  driftsDetected: number;
  /** Egress lookups dropped by the spoof guard (also counted in denied). */
  spoofed: number;
}

export type ApplyOutcome = { ok: true; hash: string } | { ok: false; reason: string; message: string };

/**
 * Stable digest of what is programmed: independent of the compiler's hash, so drift is visible. It
 * covers the vNIC bindings and the ids of the programs and address groups (both content-addressed,
 * so an id stands for its rules or addresses), not their serialized bodies: the audit runs every
 * second on every agent, and a fleet of 512 agents serializing 200 KB filters each second spent a
 * whole core on it.
 */
export function digestOf(spec: HostFilterSpec): string {
  const h = createHash('sha256');
  for (const p of spec.programs) h.update(p.id).update(',');
  h.update('|');
  for (const g of spec.addressGroups) h.update(g.id).update(',');
  h.update('|');
  for (const b of spec.bindings) h.update(`${b.vm} ${b.vnic} ${b.ip} ${b.mac} ${b.program}\n`);
  return h.digest('hex');
}

export class AgentCore {
  /** What the "hardware" holds; drift mutates it behind the agent's back. */
  private programmed: HostFilterSpec | undefined;
  private programmedDigest: string | undefined;
  private classifier: Classifier | undefined;
  private lastError: { reason: string; message: string } | undefined;
  private driftDetectedAt: string | undefined;
  appliedHash: string | undefined;
  appliedGeneration: number | undefined;
  appliedAt: string | undefined;
  faults: AgentFaults = NO_FAULTS;
  /**
   * Identity of this agent process (new on every start): a status with a new boot id and no
   * appliedHash says "restarted, holds nothing until it has re-applied", whatever the previous
   * process reported.
   */
  bootId: string | undefined;
  readonly counters: AgentCounters = { lookups: 0, allowed: 0, denied: 0, applies: 0, applyFailures: 0, driftsDetected: 0, spoofed: 0 };

  constructor(
    readonly hostName: string,
    private readonly build: BuildClassifier,
    private readonly random: () => number = Math.random,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Program the filter; fails with the configured probability, like a hypervisor API would. Its spec
   * becomes the programmed state (drift is injected into it): the caller hands over an object it no
   * longer changes (the agent passes a freshly decoded one). A copy here was 512 agents' worth of
   * filters allocated again at every cold start.
   */
  apply(hf: HostFilter): ApplyOutcome {
    if (this.random() < this.faults.applyFailureRate) {
      this.counters.applyFailures++;
      this.lastError = { reason: 'ApplyFailed', message: `hypervisor rejected filter ${hf.spec.hash} (injected fault)` };
      return { ok: false, ...this.lastError };
    }
    try {
      const spec = hf.spec;
      this.classifier = withSpoofGuard(spec, this.build(spec));
      this.programmed = spec;
      this.programmedDigest = digestOf(spec);
    } catch (e) {
      this.counters.applyFailures++;
      this.lastError = { reason: 'InvalidFilter', message: `cannot build data path: ${(e as Error).message}` };
      return { ok: false, ...this.lastError };
    }
    this.counters.applies++;
    this.lastError = undefined;
    this.appliedHash = hf.spec.hash;
    this.appliedGeneration = hf.metadata.generation;
    this.appliedAt = this.now().toISOString();
    return { ok: true, hash: hf.spec.hash };
  }

  /** Corrupt the programmed tables silently (fault injection): the first binding points nowhere. */
  injectDrift(): void {
    const b = this.programmed?.bindings[0];
    if (!this.programmed || !b) return;
    b.program = 'p-drifted';
    this.classifier = withSpoofGuard(this.programmed, this.build(this.programmed));
  }

  /** Audit the programmed state against what was applied; on drift forget the applied state. */
  auditDrift(): boolean {
    if (!this.programmed || this.programmedDigest === undefined) return false;
    if (digestOf(this.programmed) === this.programmedDigest) return false;
    this.counters.driftsDetected++;
    this.driftDetectedAt = this.now().toISOString();
    this.lastError = { reason: 'DriftDetected', message: 'programmed state differed from the applied filter; re-applying' };
    this.programmed = undefined;
    this.classifier = undefined;
    this.appliedHash = undefined;
    return true;
  }

  /** Whether the filter object asks for something other than what is programmed. */
  needsApply(hf: HostFilter): boolean {
    return this.appliedHash !== hf.spec.hash || this.programmed === undefined;
  }

  /** One lookup on the programmed data path; an egress lookup's claimed source passes the spoof guard first. */
  classify(l: Lookup): Decision {
    this.counters.lookups++;
    const d: Decision = this.classifier
      ? this.classifier.classify(l)
      : { verdict: 'Deny', tier: 'Default', policy: null, rule: 'no-filter' };
    if (d.verdict === 'Allow') this.counters.allowed++;
    else this.counters.denied++;
    if (d === SPOOFGUARD) this.counters.spoofed++;
    return d;
  }

  /** The HostFilter status this agent reports, given the current object. */
  desiredStatus(hf: HostFilter): NonNullable<HostFilter['status']> {
    const prev = hf.status?.conditions?.find((c) => c.type === 'Applied');
    const converged = this.appliedHash !== undefined && this.appliedHash === hf.spec.hash;
    const cond = converged
      ? { status: 'True' as const, reason: 'Applied', message: `filter ${this.appliedHash} programmed` }
      : this.lastError
        ? { status: 'False' as const, ...this.lastError }
        : this.appliedHash === undefined
          ? { status: 'False' as const, reason: 'Applying', message: `holds no filter yet (boot ${this.bootId ?? '-'}); programming filter ${hf.spec.hash}` }
          : { status: 'False' as const, reason: 'Applying', message: `programming filter ${hf.spec.hash}` };
    const applied: Condition = {
      type: 'Applied',
      ...cond,
      observedGeneration: hf.metadata.generation ?? 0,
      lastTransitionTime: prev && prev.status === cond.status ? prev.lastTransitionTime : this.now().toISOString(),
    };
    const p = this.programmed;
    return {
      observedGeneration: converged ? (this.appliedGeneration ?? hf.metadata.generation) : hf.status?.observedGeneration,
      ...(this.bootId !== undefined ? { bootId: this.bootId } : {}),
      appliedHash: this.appliedHash,
      appliedAt: this.appliedAt,
      programs: p?.programs.length ?? 0,
      rules: p ? p.programs.reduce((n, pr) => n + pr.egress.length + pr.ingress.length, 0) : 0,
      bindings: p?.bindings.length ?? 0,
      counters: { ...this.counters },
      conditions: [applied],
    };
  }

  get lastDriftAt(): string | undefined {
    return this.driftDetectedAt;
  }
}
