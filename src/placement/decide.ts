// The VM controller's decision as a pure function: where the VM should be, what phase it is in, and
// which transition (if any) the controller performs. A chain of checks, each yielding reason + message
// (cert-manager readiness style). The invariant it guarantees by construction: phase Running only on a
// host that is compliant (Ready, required tags, networks) and whose applied filter holds status.program.
import { feasibility, isFeasible } from './feasibility';
import { vmNeeds } from './needs';
import { schedule } from './schedule';
import type { HostState, ReasonMessage, TagLike, TenantLike, VmLike, VmNeeds } from './types';

export type VmPhase = 'Pending' | 'Scheduled' | 'Running' | 'Migrating' | 'Quarantined' | 'Off';
export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** A condition without timestamps: the controller merges it (lastTransitionTime only on a flip). */
export interface DecidedCondition {
  type: 'Scheduled' | 'PlacementCompliant' | 'Protected';
  status: ConditionStatus;
  reason: string;
  message: string;
}

export interface VmDesiredStatus {
  phase: VmPhase;
  hostName?: string;
  /** Set only while Migrating. */
  targetHostName?: string;
  /**
   * The program protecting the VM when Running (normally `programKey`; the previous program while a
   * policy update is not applied yet), otherwise the program it will get.
   */
  program?: string;
  /** Always Scheduled, PlacementCompliant, Protected, in that order. */
  conditions: DecidedCondition[];
}

/** The transition the controller performs (and may record as an Event). */
export type VmAction =
  | { type: 'None' }
  | { type: 'Bind'; host: string }
  | { type: 'StartMigration'; from: string; to: string }
  | { type: 'CompleteMigration'; from: string; to: string }
  | { type: 'CancelMigration'; from: string; to: string }
  | { type: 'Quarantine'; host: string; reason: string }
  | { type: 'Release'; host: string };

export interface VmStatusLike {
  phase?: VmPhase;
  hostName?: string;
  targetHostName?: string;
  program?: string;
}

export interface VmDecisionInput {
  vm: VmLike & { status?: VmStatusLike };
  tenant: TenantLike | undefined;
  tagsByName: ReadonlyMap<string, TagLike>;
  /**
   * Every host by name. `allocated` counts VMs bound or migrating to the host, this VM included where
   * its status says so (status.hostName / status.targetHostName).
   */
  hosts: ReadonlyMap<string, HostState>;
  /** The VM's effective program (content hash); undefined while not compiled yet. */
  programKey: string | undefined;
  /**
   * Programs in the host's *applied* filter (HostFilter.status matches spec). A controller that also
   * wants this VM's own binding applied returns the set only when it is.
   */
  appliedPrograms(hostName: string): ReadonlySet<string> | undefined;
  /**
   * Whether the host's *applied* filter was compiled from this generation of the VM (or a later one):
   * its bindings (addresses, vNICs) are the current spec's. Absent = always (callers without generations).
   */
  generationApplied?(hostName: string): boolean;
  /** Programs resident or planned per host, for the policy-affinity preference when scheduling. */
  programsOn?(hostName: string): ReadonlySet<string> | undefined;
  /** Precomputed `vmNeeds(vm, tenant, tagsByName)`, to save work in batch callers. */
  needs?: VmNeeds;
}

export interface VmDecision {
  status: VmDesiredStatus;
  action: VmAction;
  needs: VmNeeds;
}

// ---------------------------------------------------------------- where the VM should be

type Destination =
  | { kind: 'host'; host: string }
  | { kind: 'pending'; reason: string; message: string }
  | { kind: 'quarantine'; host: string; reason: string; message: string };

interface Ctx {
  input: VmDecisionInput;
  needs: VmNeeds;
  prev: VmStatusLike;
  /** prev.hostName if that host still exists. */
  current?: string;
  /** prev.targetHostName if that host still exists. */
  target?: string;
  resident: ReadonlySet<string>;
}

const joinMessages = (rs: readonly ReasonMessage[]) => rs.map((r) => r.message).join('; ');

/** Judge a host the VM already occupies (or is pinned to): cordoning does not evict. */
function compliance(ctx: Ctx, host: string) {
  const h = ctx.input.hosts.get(host)!;
  return feasibility(ctx.needs, h, { resident: ctx.resident.has(host), ignoreUnschedulable: true });
}

function pinnedDestination(ctx: Ctx, pin: string): Destination {
  if (!ctx.input.hosts.has(pin))
    return { kind: 'pending', reason: 'HostNotFound', message: `pinned host ${pin} does not exist` };
  const f = compliance(ctx, pin);
  if (!f.feasible) return { kind: 'quarantine', host: pin, reason: f.reasons[0]!.reason, message: joinMessages(f.reasons) };
  return { kind: 'host', host: pin };
}

function scheduledDestination(ctx: Ctx): Destination {
  const { input, needs } = ctx;
  // Stay where it is while that host stays compliant.
  const cur = ctx.current ? compliance(ctx, ctx.current) : undefined;
  if (ctx.current && cur!.feasible) return { kind: 'host', host: ctx.current };
  // Keep an in-flight migration target while it still fits (no flapping between targets).
  if (ctx.target && ctx.target !== ctx.current) {
    const t = input.hosts.get(ctx.target)!;
    if (isFeasible(needs, t, { resident: true, ignoreUnschedulable: true })) return { kind: 'host', host: ctx.target };
  }
  const r = schedule(needs, input.hosts.values(), {
    programKey: input.programKey,
    programsOn: input.programsOn,
    residentOn: ctx.resident,
    exclude: ctx.current,
  });
  if ('host' in r) return { kind: 'host', host: r.host };
  if (ctx.current)
    return {
      kind: 'quarantine',
      host: ctx.current,
      reason: cur!.reasons[0]!.reason,
      message: `${joinMessages(cur!.reasons)}; no host can take it: ${r.unschedulable.message}`,
    };
  return { kind: 'pending', reason: r.unschedulable.reason, message: r.unschedulable.message };
}

// ---------------------------------------------------------------- conditions

const cond = (type: DecidedCondition['type'], status: ConditionStatus, reason: string, message: string): DecidedCondition => ({
  type,
  status,
  reason,
  message,
});

function compliantCondition(needs: VmNeeds, host: string): DecidedCondition {
  let msg = needs.required.length
    ? `host ${host} carries the required tags ${needs.required.join(', ')}`
    : `host ${host} fits (no required tags)`;
  if (needs.networks.length) msg += ` and networks ${needs.networks.join(', ')}`;
  if (needs.unknownTags.length) msg += `; tags with no Tag object, treated as Required: ${needs.unknownTags.join(', ')}`;
  return cond('PlacementCompliant', 'True', 'Compliant', msg);
}

function scheduledCondition(needs: VmNeeds, message: string): DecidedCondition {
  return cond('Scheduled', 'True', needs.pinnedHost ? 'Pinned' : 'Scheduled', message);
}

const has = (set: ReadonlySet<string> | undefined, key: string | undefined) => key !== undefined && (set?.has(key) ?? false);

/** Is the VM protected on `host`: by its current program, or (update in flight) by its previous one? */
function protection(ctx: Ctx, host: string, wasRunningHere: boolean): { program?: string; condition: DecidedCondition; applied: boolean } {
  const p = programProtection(ctx, host, wasRunningHere);
  // Protected=True at generation N means the host applied a filter compiled from N: a spec edit (a new
  // address, a vNIC) is not protected by the previous bindings. The VM keeps running on its program.
  if (p.condition.status !== 'True' || (ctx.input.generationApplied?.(host) ?? true)) return p;
  return {
    ...p,
    applied: wasRunningHere,
    condition: cond(
      'Protected',
      'False',
      'GenerationPending',
      `host ${host} has not applied this generation of the VM yet${wasRunningHere ? `; it enforces program ${p.program} on the previous one` : ''}`,
    ),
  };
}

function programProtection(ctx: Ctx, host: string, wasRunningHere: boolean): { program?: string; condition: DecidedCondition; applied: boolean } {
  const { programKey } = ctx.input;
  const applied = ctx.input.appliedPrograms(host);
  if (has(applied, programKey))
    return { program: programKey, applied: true, condition: cond('Protected', 'True', 'ProgramApplied', `host ${host} enforces program ${programKey}`) };
  if (wasRunningHere && has(applied, ctx.prev.program))
    return {
      program: ctx.prev.program,
      applied: true,
      condition: cond(
        'Protected',
        'True',
        'UpdatePending',
        `host ${host} enforces the previous program ${ctx.prev.program}; ${programKey ?? 'the new program'} is not applied yet`,
      ),
    };
  if (programKey === undefined)
    return { applied: false, condition: cond('Protected', 'False', 'ProgramNotCompiled', 'the VM\'s program is not compiled yet') };
  return {
    program: programKey,
    applied: false,
    condition: cond('Protected', 'False', 'FilterNotApplied', `host ${host} has not applied program ${programKey} yet`),
  };
}

// ---------------------------------------------------------------- the chain

function poweredOff(ctx: Ctx): VmDecision | undefined {
  if ((ctx.input.vm.spec.powerState ?? 'On') !== 'Off') return undefined;
  const msg = 'the VM is powered off: it takes no host and no vNIC is connected';
  return {
    needs: ctx.needs,
    status: {
      phase: 'Off',
      conditions: [
        cond('Scheduled', 'False', 'PoweredOff', msg),
        cond('PlacementCompliant', 'True', 'PoweredOff', msg),
        cond('Protected', 'True', 'PoweredOff', msg),
      ],
    },
    action: ctx.prev.hostName ? { type: 'Release', host: ctx.prev.hostName } : { type: 'None' },
  };
}

function pending(ctx: Ctx, d: Extract<Destination, { kind: 'pending' }>): VmDecision {
  const status: VmDesiredStatus = {
    phase: 'Pending',
    conditions: [
      cond('Scheduled', 'False', d.reason, d.message),
      cond('PlacementCompliant', 'Unknown', 'NotScheduled', 'the VM is not placed on any host'),
      cond('Protected', 'Unknown', 'NotScheduled', 'the VM runs nowhere yet'),
    ],
  };
  if (ctx.input.programKey !== undefined) status.program = ctx.input.programKey;
  const action: VmAction = ctx.prev.hostName ? { type: 'Release', host: ctx.prev.hostName } : { type: 'None' };
  return { needs: ctx.needs, status, action };
}

function quarantined(ctx: Ctx, d: Extract<Destination, { kind: 'quarantine' }>): VmDecision {
  const status: VmDesiredStatus = {
    phase: 'Quarantined',
    hostName: d.host,
    conditions: [
      scheduledCondition(ctx.needs, `${ctx.needs.pinnedHost ? 'pinned' : 'bound'} to host ${d.host}`),
      cond('PlacementCompliant', 'False', d.reason, d.message),
      cond('Protected', 'False', 'Quarantined', 'placement is not compliant: the VM is not run and its vNICs get deny-all'),
    ],
  };
  if (ctx.input.programKey !== undefined) status.program = ctx.input.programKey;
  const same = ctx.prev.phase === 'Quarantined' && ctx.prev.hostName === d.host;
  return { needs: ctx.needs, status, action: same ? { type: 'None' } : { type: 'Quarantine', host: d.host, reason: d.reason } };
}

/** Bound (or binding) to a compliant host: Running once its applied filter holds the program. */
function onHost(ctx: Ctx, host: string, action: VmAction, scheduledMsg: string): VmDecision {
  const wasRunningHere = ctx.prev.phase === 'Running' && ctx.prev.hostName === host;
  const p = protection(ctx, host, wasRunningHere);
  const status: VmDesiredStatus = {
    phase: p.applied ? 'Running' : 'Scheduled',
    hostName: host,
    conditions: [scheduledCondition(ctx.needs, scheduledMsg), compliantCondition(ctx.needs, host), p.condition],
  };
  if (p.program !== undefined) status.program = p.program;
  return { needs: ctx.needs, status, action };
}

/** Make-before-break: the VM stays on `from` until `to` reports the program applied. */
function migrate(ctx: Ctx, from: string, to: string): VmDecision {
  const { programKey } = ctx.input;
  if (has(ctx.input.appliedPrograms(to), programKey) && (ctx.input.generationApplied?.(to) ?? true))
    return onHost(ctx, to, { type: 'CompleteMigration', from, to }, `migrated from host ${from} to host ${to}`);

  const src = compliance(ctx, from);
  const why = ctx.needs.pinnedHost && src.feasible
    ? { reason: 'PinnedElsewhere', message: `the VM is pinned to host ${to} but runs on host ${from}` }
    : { reason: src.reasons[0]?.reason ?? 'NotCompliant', message: joinMessages(src.reasons) };
  const p = protection(ctx, from, ctx.prev.hostName === from && (ctx.prev.phase === 'Running' || ctx.prev.phase === 'Migrating'));
  const status: VmDesiredStatus = {
    phase: 'Migrating',
    hostName: from,
    targetHostName: to,
    conditions: [
      scheduledCondition(ctx.needs, `migrating from host ${from} to host ${to}`),
      cond('PlacementCompliant', 'False', why.reason, `${why.message}; migrating to host ${to}`),
      p.condition,
    ],
  };
  if (p.program !== undefined) status.program = p.program;
  const action: VmAction = ctx.prev.targetHostName === to ? { type: 'None' } : { type: 'StartMigration', from, to };
  return { needs: ctx.needs, status, action };
}

/**
 * Decide a VM's desired status and the transition to perform. Checks, in order: powered off →
 * destination (pinned host, else current host while compliant, else in-flight target, else the
 * scheduler) → pending / quarantine / bind / stay / migrate (make-before-break) → protection.
 */
export function decideVm(input: VmDecisionInput): VmDecision {
  const needs = input.needs ?? vmNeeds(input.vm, input.tenant, input.tagsByName);
  const prev = input.vm.status ?? {};
  const resident = new Set<string>();
  if (prev.hostName) resident.add(prev.hostName);
  if (prev.targetHostName) resident.add(prev.targetHostName);
  const ctx: Ctx = { input, needs, prev, resident };
  if (prev.hostName && input.hosts.has(prev.hostName)) ctx.current = prev.hostName;
  if (prev.targetHostName && input.hosts.has(prev.targetHostName)) ctx.target = prev.targetHostName;

  const off = poweredOff(ctx);
  if (off) return off;

  const d = needs.pinnedHost ? pinnedDestination(ctx, needs.pinnedHost) : scheduledDestination(ctx);
  if (d.kind === 'pending') return pending(ctx, d);
  if (d.kind === 'quarantine') return quarantined(ctx, d);

  const cur = ctx.current;
  if (cur === d.host) {
    // Staying: a migration that was under way is no longer needed.
    const action: VmAction =
      ctx.prev.targetHostName && ctx.prev.targetHostName !== cur
        ? { type: 'CancelMigration', from: cur, to: ctx.prev.targetHostName }
        : { type: 'None' };
    return onHost(ctx, cur, action, `${needs.pinnedHost ? 'pinned' : 'bound'} to host ${cur}`);
  }
  // Only a VM that carries traffic needs make-before-break; one that is not run (Scheduled,
  // Quarantined) is simply bound to the new host.
  if (cur !== undefined && (prev.phase === 'Running' || prev.phase === 'Migrating')) return migrate(ctx, cur, d.host);
  const note = prev.hostName && !cur ? ` (host ${prev.hostName} is gone)` : '';
  return onHost(ctx, d.host, { type: 'Bind', host: d.host }, `${needs.pinnedHost ? 'pinned' : 'bound'} to host ${d.host}${note}`);
}
