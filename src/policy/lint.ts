// Rule lint for SecurityPolicy.status.warnings and `vmsafe validate`:
// - shadowed rules: a rule that can never match because an earlier rule in the evaluation order
//   matches every packet it would (same policy; or an earlier policy of the same tier that applies to
//   every VM this one does);
// - policies that select no VM.
// Coverage is judged structurally (selectors, tags, tenants, CIDRs, port ranges), so a warning holds
// whatever VMs come and go; it is sufficient, not complete: some shadowed rules go unreported.
import type { PortSpec, Rule, SecurityPolicy, Tenant, VM } from '../api';
import { PROVIDER_NAMESPACE } from '../api';
import { parseCidr } from '../dataplane/ip';
import { Inventory, comparePolicies, type PolicyRec } from './inventory';
import { selectorMatches, selectorRequirements } from './selector';

export interface LintFinding {
  /** "namespace/name" of the policy. */
  policy: string;
  /** Field path inside the policy, e.g. `spec.ingress[2]`; empty for the whole policy. */
  path: string;
  message: string;
}

export interface LintInput {
  tenants: readonly Tenant[];
  policies: readonly SecurityPolicy[];
  /** When given, policies that select none of these VMs are reported. */
  vms?: readonly VM[];
  providerNamespace?: string;
}

type Range = [number, number];
/** A peer normalized for comparison: an address range minus exceptions, or a set of VMs. */
type NormPeer =
  | { kind: 'cidr'; range: Range; except: Range[] }
  | { kind: 'vms'; tenants: 'same' | null | ReadonlySet<string>; tags: readonly string[]; selector: readonly string[] };

const ALL: Range = [0, 2 ** 32 - 1];

function normPeer(peer: Rule['peers'][number], p: PolicyRec, owner: string | null): NormPeer {
  if (peer.cidr) return { kind: 'cidr', range: parseCidr(peer.cidr.cidr), except: (peer.cidr.except ?? []).map(parseCidr) };
  if (peer.sameTenant) return { kind: 'vms', tenants: 'same', tags: [], selector: [] };
  if (peer.tenants) return { kind: 'vms', tenants: new Set(peer.tenants), tags: [], selector: [] };
  const v = peer.vms ?? {};
  const tenants = v.tenants && v.tenants.length > 0 ? new Set(v.tenants) : p.tier === 'Tenant' ? new Set(owner === null ? [] : [owner]) : null;
  return { kind: 'vms', tenants, tags: [...new Set(v.tags ?? [])], selector: selectorRequirements(v.vmSelector) };
}

const within = (a: Range, b: Range) => a[0] >= b[0] && a[1] <= b[1];
const intersect = (a: Range, b: Range): Range | null => (a[0] <= b[1] && b[0] <= a[1] ? [Math.max(a[0], b[0]), Math.min(a[1], b[1])] : null);

/** Every address `b` matches, `a` matches too. */
function peerCovers(a: NormPeer, b: NormPeer): boolean {
  if (a.kind === 'cidr') {
    if (a.except.length === 0 && a.range[0] === ALL[0] && a.range[1] === ALL[1]) return true;
    if (b.kind !== 'cidr' || !within(b.range, a.range)) return false;
    // Whatever a excludes inside b must be excluded by b as well.
    return a.except.every((e) => {
      const cut = intersect(e, b.range);
      return cut === null || b.except.some((x) => within(cut, x));
    });
  }
  if (b.kind !== 'vms') return false;
  if (a.tenants !== null) {
    if (a.tenants === 'same' || b.tenants === 'same') {
      if (a.tenants !== b.tenants) return false;
    } else if (b.tenants === null || [...b.tenants].some((t) => !(a.tenants as ReadonlySet<string>).has(t))) return false;
  }
  return a.tags.every((t) => b.tags.includes(t)) && a.selector.every((r) => b.selector.includes(r));
}

function peersCover(a: NormPeer[], b: NormPeer[]): boolean {
  if (a.length === 0) return true;
  if (b.length === 0) return a.some((x) => peerCovers(x, { kind: 'cidr', range: ALL, except: [] }));
  return b.every((y) => a.some((x) => peerCovers(x, y)));
}

const PROTOCOLS = ['TCP', 'UDP', 'SCTP', 'ICMP'] as const;

function portCovers(a: PortSpec, b: PortSpec): boolean {
  const ap = a.protocol ?? 'TCP';
  const bp = b.protocol ?? 'TCP';
  if (ap === 'Any' && a.port === undefined) return true;
  if (ap !== bp) return false;
  if (a.port === undefined) return true;
  if (b.port === undefined) return false;
  return b.port >= a.port && (b.endPort ?? b.port) <= (a.endPort ?? a.port);
}

function portsCover(a: readonly PortSpec[], b: readonly PortSpec[]): boolean {
  if (a.length === 0) return true;
  if (b.length === 0) return PROTOCOLS.every((proto) => a.some((x) => portCovers(x, { protocol: proto })));
  return b.every((y) => a.some((x) => portCovers(x, y)));
}

/** Policy a applies to every VM policy b applies to (same tier and scope assumed). */
function appliesCovers(a: PolicyRec, b: PolicyRec): boolean {
  const at = a.appliesTo;
  const bt = b.appliesTo;
  if (!(at.tags ?? []).every((t) => (bt.tags ?? []).includes(t))) return false;
  const bSel = selectorRequirements(bt.vmSelector);
  if (!selectorRequirements(at.vmSelector).every((r) => bSel.includes(r))) return false;
  const aTen = at.tenants && at.tenants.length > 0 ? at.tenants : null;
  const bTen = bt.tenants && bt.tenants.length > 0 ? bt.tenants : null;
  return aTen === null || (bTen !== null && bTen.every((t) => aTen.includes(t)));
}

export function lintPolicies(input: LintInput): LintFinding[] {
  const inv = new Inventory({ providerNamespace: input.providerNamespace ?? PROVIDER_NAMESPACE });
  for (const t of input.tenants) inv.upsertTenant(t);
  for (const p of input.policies) inv.upsertPolicy(p);
  const out: LintFinding[] = [];
  const accepted = [...inv.policies.values()].filter((p) => p.rejection === null);
  const ownerOf = (p: PolicyRec) => (p.tier === 'Tenant' ? inv.tenantName(p.tenant) : null);

  // Groups of policies evaluated one after another for the same VMs: a tier, and a tenant for Tenant tier.
  const groups = new Map<string, PolicyRec[]>();
  for (const p of accepted) {
    const k = p.tier === 'Tenant' ? `Tenant/${p.tenant}` : p.tier;
    const g = groups.get(k) ?? [];
    g.push(p);
    groups.set(k, g);
  }
  for (const g of groups.values()) {
    g.sort(comparePolicies);
    for (const dir of ['ingress', 'egress'] as const) {
      const earlier: { p: PolicyRec; r: Rule; peers: NormPeer[] }[] = [];
      for (let pi = 0; pi < g.length; pi++) {
        const q = g[pi]!;
        const mine: typeof earlier = [];
        q[dir].forEach((r, j) => {
          const peers = (r.peers ?? []).map((x) => normPeer(x, q, ownerOf(q)));
          const shadow =
            mine.find((e) => peersCover(e.peers, peers) && portsCover(e.r.ports ?? [], r.ports ?? [])) ??
            earlier.find((e) => appliesCovers(e.p, q) && peersCover(e.peers, peers) && portsCover(e.r.ports ?? [], r.ports ?? []));
          if (shadow) {
            const where = shadow.p === q ? 'earlier in this policy' : `of ${shadow.p.tier} policy ${shadow.p.key} (evaluated first, applies to every VM this policy does)`;
            out.push({
              policy: q.key,
              path: `spec.${dir}[${j}]`,
              message: `${dir} rule "${r.name}" can never match: rule "${shadow.r.name}" ${where} matches every packet it would`,
            });
          }
          mine.push({ p: q, r, peers });
        });
        earlier.push(...mine);
      }
    }
  }

  if (input.vms) {
    // Only who owns each VM and what it carries matter here: not the Inventory's address book and indexes.
    type LintVm = { tags: ReadonlySet<string>; labels: Readonly<Record<string, string>>; tenant: string | null };
    const vmsOfTenant = new Map<string | null, LintVm[]>();
    const all: LintVm[] = [];
    for (const vm of input.vms) {
      const tenant = inv.ownerOf(vm.metadata.namespace ?? '');
      const rec = { tags: new Set(vm.spec.tags ?? []), labels: vm.metadata.labels ?? {}, tenant };
      all.push(rec);
      const list = vmsOfTenant.get(tenant);
      if (list) list.push(rec);
      else vmsOfTenant.set(tenant, [rec]);
    }
    for (const p of accepted) {
      const a = p.appliesTo;
      const candidates = p.tier === 'Tenant' ? (vmsOfTenant.get(ownerOf(p)) ?? []) : all;
      const selects = candidates.some(
        (vm) =>
          (a.tags ?? []).every((t) => vm.tags.has(t)) &&
          (!a.vmSelector || selectorMatches(a.vmSelector, vm.labels)) &&
          (!a.tenants || a.tenants.length === 0 || (vm.tenant !== null && a.tenants.includes(vm.tenant))),
      );
      if (!selects) out.push({ policy: p.key, path: 'spec.appliesTo', message: 'the policy selects no VM' });
    }
  }
  return out.sort((a, b) => (a.policy < b.policy ? -1 : a.policy > b.policy ? 1 : 0));
}

/** Warnings per policy key, ready for SecurityPolicy.status.warnings. */
export function policyWarnings(findings: readonly LintFinding[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of findings) {
    const l = out.get(f.policy) ?? [];
    l.push(f.path ? `${f.path}: ${f.message}` : f.message);
    out.set(f.policy, l);
  }
  return out;
}
