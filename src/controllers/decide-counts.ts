// Tenant, Tag and SecurityPolicy status as pure functions of counts the controllers gather.
import type { SecurityPolicy, StagedImpactStatus, Tag, Tenant } from '../api';
import { setConditions, type ConditionInput } from '../runtime/conditions';

export interface TenantCounts {
  namespaces: string[];
  /** Namespaces that do not exist yet or that another tenant claims. */
  missingNamespaces: string[];
  conflicts: string[];
  vms: number;
  vnics: number;
  hosts: number;
  policies: number;
  unknownTags: string[];
  /** The compiler holds this generation of the tenant (absent: true). */
  compiled?: boolean;
  /** Hosts running the tenant's VMs whose applied filter predates this generation, and of them the too-large ones. */
  notApplied?: string[];
  tooLarge?: string[];
}

/** How a Ready=False NamespaceConflict message starts (the tenant controller reads it back). */
export const CONFLICT_PREFIX = 'namespaces claimed by another tenant: ';
const hostList = (hs: string[]) => `${hs.slice(0, 5).join(', ')}${hs.length > 5 ? ', ...' : ''}`;

export function decideTenantStatus(t: Tenant, c: TenantCounts, now: Date): NonNullable<Tenant['status']> {
  const gen = t.metadata.generation;
  const quota = t.spec.quota;
  const over: string[] = [];
  if (quota?.vms !== undefined && c.vms > quota.vms) over.push(`${c.vms} VMs > quota ${quota.vms}`);
  if (quota?.vnics !== undefined && c.vnics > quota.vnics) over.push(`${c.vnics} vNICs > quota ${quota.vnics}`);
  const ready: ConditionInput = c.conflicts.length
    ? { type: 'Ready', status: 'False', reason: 'NamespaceConflict', message: `${CONFLICT_PREFIX}${c.conflicts.join(', ')}` }
    : c.missingNamespaces.length
      ? { type: 'Ready', status: 'False', reason: 'NamespacesPending', message: `creating namespaces: ${c.missingNamespaces.join(', ')}` }
      : c.unknownTags.length
        ? { type: 'Ready', status: 'False', reason: 'UnknownTag', message: `placementTags name no Tag: ${c.unknownTags.join(', ')}` }
        : over.length
          ? { type: 'Ready', status: 'False', reason: 'QuotaExceeded', message: over.join('; ') }
          : c.compiled === false
            ? { type: 'Ready', status: 'False', reason: 'Compiling', message: `generation ${gen} is not compiled yet` }
            : c.tooLarge?.length
              ? { type: 'Ready', status: 'False', reason: 'TooLarge', message: `the filter of host(s) ${hostList(c.tooLarge)} is too large to write: generation ${gen} is not applied there` }
              : c.notApplied?.length
                ? { type: 'Ready', status: 'False', reason: 'Pending', message: `${c.notApplied.length} of ${c.hosts} host(s) have not applied generation ${gen} yet: ${hostList(c.notApplied)}` }
                : { type: 'Ready', status: 'True', reason: 'Ready', message: `${c.namespaces.length} namespace(s), ${c.vms} VM(s)` };
  return {
    observedGeneration: gen,
    namespaces: c.namespaces,
    vms: c.vms,
    vnics: c.vnics,
    hosts: c.hosts,
    policies: c.policies,
    conditions: setConditions(t.status?.conditions, [{ ...ready, observedGeneration: gen }], now),
  };
}

export interface TagCounts {
  hosts: number;
  vms: number;
  networks: number;
  tenants: number;
  policies: number;
}

export const inUse = (c: TagCounts) => c.hosts + c.vms + c.networks + c.tenants + c.policies > 0;

export function decideTagStatus(t: Tag, c: TagCounts, now: Date): NonNullable<Tag['status']> {
  const gen = t.metadata.generation;
  const users = (['hosts', 'vms', 'networks', 'tenants', 'policies'] as const).filter((k) => c[k] > 0).map((k) => `${c[k]} ${k}`);
  const cond: ConditionInput = inUse(c)
    ? { type: 'InUse', status: 'True', reason: 'Referenced', message: `referenced by ${users.join(', ')}` }
    : { type: 'InUse', status: 'False', reason: 'Unreferenced', message: 'nothing references this tag' };
  return {
    observedGeneration: gen,
    hosts: c.hosts,
    vms: c.vms,
    networks: c.networks,
    conditions: setConditions(t.status?.conditions, [{ ...cond, observedGeneration: gen }], now),
  };
}

export interface PolicyFacts {
  /** Why the policy is not compiled (tier/namespace/tenant rules, or its size), or null when accepted. */
  rejection: string | null;
  /** The Accepted condition's reason when rejected (default Rejected; TooLarge: refused for its size). */
  rejectionReason?: 'Rejected' | 'TooLarge';
  /** The compiler holds this generation (else nothing about it can be realized yet). */
  compiled: boolean;
  vnics: number;
  /** Hosts whose filter must carry the policy, and those whose agent reports it applied. */
  hostsDesired: number;
  hostsRealized: number;
  notRealized: string[];
  /**
   * Hosts of notRealized whose compiled filter is too large to write (the reason they do not apply
   * it), with why (size and limit).
   */
  tooLarge?: Array<{ host: string; detail: string }>;
  warnings: string[];
  /** Set for a staged policy (spec.enforcement: Staged): what enforcing it would change, once computed. */
  staged?: { impact: StagedImpactStatus | undefined };
}

export function decidePolicyStatus(p: SecurityPolicy, f: PolicyFacts, now: Date): NonNullable<SecurityPolicy['status']> {
  const gen = p.metadata.generation;
  const accepted: ConditionInput = f.rejection
    ? { type: 'Accepted', status: 'False', reason: f.rejectionReason ?? 'Rejected', message: f.rejection }
    : { type: 'Accepted', status: 'True', reason: 'Accepted', message: f.staged ? 'policy is valid; staged: analyzed, not enforced' : 'policy is valid and compiled' };
  const pending = f.hostsDesired - f.hostsRealized;
  const big = f.tooLarge ?? [];
  const realized: ConditionInput = f.rejection
    ? { type: 'Realized', status: 'False', reason: 'NotAccepted', message: 'policy is not accepted' }
    : f.staged
      ? {
          type: 'Realized',
          status: 'False',
          reason: 'Staged',
          message: `staged, not enforced (spec.enforcement: Staged); ${f.staged.impact ? f.staged.impact.summary : 'computing what enforcing it would change'}`,
        }
    : !f.compiled
      ? { type: 'Realized', status: 'False', reason: 'Compiling', message: `generation ${gen} is not compiled yet` }
      : pending === 0
      ? { type: 'Realized', status: 'True', reason: 'Realized', message: f.hostsDesired ? `enforced on ${f.hostsDesired} host(s), ${f.vnics} vNIC(s)` : 'selects no vNIC on any host' }
      : big.length > 0
      ? {
          type: 'Realized',
          status: 'False',
          reason: 'TooLarge',
          message: `${pending} of ${f.hostsDesired} host(s) not applied: the filter of host(s) ${hostList(big.map((b) => b.host))} cannot be written (${big[0]!.detail}); they keep enforcing their last filter`,
        }
      : {
          type: 'Realized',
          status: 'False',
          reason: 'Pending',
          message: `${pending} of ${f.hostsDesired} host(s) not applied yet: ${hostList(f.notRealized)}`,
        };
  return {
    observedGeneration: gen,
    vnics: f.vnics,
    hosts: { desired: f.hostsDesired, realized: f.hostsRealized },
    warnings: f.warnings,
    ...(f.staged?.impact ? { impact: f.staged.impact } : {}),
    conditions: setConditions(p.status?.conditions, [accepted, realized].map((c) => ({ ...c, observedGeneration: gen })), now),
  };
}
