// The vmsafe.io kinds: zod schemas are the single source of types, validation and CRDs.
import { z } from 'zod';
import {
  cidr, conditions, count, dnsLabel, dnsSubdomain, ipv4, kindSchema, labelSelector, mac, port, refusingProtoKeys, tagList,
} from './common';

const show = (v: unknown) => JSON.stringify(v);

/** Report each value that occurs more than once in a list, at the later position. */
function uniqueBy<T>(items: T[], key: (t: T) => string, ctx: z.RefinementCtx, field: string, what: string) {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const k = key(item);
    const first = seen.get(k);
    if (first !== undefined)
      ctx.addIssue({ code: 'custom', path: [i, field], message: `duplicate ${what} ${show(k)} (also at [${first}])` });
    else seen.set(k, i);
  });
}

// ---------------------------------------------------------------- Tenant
export const rbacSubject = z.object({
  kind: z.enum(['User', 'Group', 'ServiceAccount']),
  name: z.string().min(1).max(253),
  namespace: dnsLabel('namespace').optional(),
});

export const tenantSpec = z.object({
  displayName: z.string().max(256).optional().describe('Human-readable name of the tenant.'),
  /** Namespaces owned by the tenant; when empty, one named after the tenant (created by the controller). */
  namespaces: z
    .array(dnsLabel('namespace'))
    .max(64)
    .optional()
    .describe('Namespaces owned by the tenant. Default: one namespace named after the tenant, created by the operator.'),
  /** Tags every host running this tenant's VMs must carry. */
  placementTags: tagList().default([]).describe("Tags every host running this tenant's VMs must carry."),
  admins: z.array(rbacSubject).max(64).default([]).describe("RBAC subjects bound as admins in the tenant's namespaces."),
  quota: z
    .object({ vms: count().optional(), vnics: count().optional() })
    .optional()
    .describe('Upper bounds on the number of VMs and vNICs of the tenant.'),
  /**
   * The IPv4 blocks the provider assigned to the tenant: its vNICs are bound only to addresses inside
   * them. Absent or empty: the tenant owns no block, and its vNICs may bind only addresses outside
   * every other tenant's blocks (compatibility; `vmsafe validate` warns).
   */
  addressBlocks: z
    .array(cidr())
    .max(64)
    .optional()
    .describe("IPv4 blocks assigned by the provider; the tenant's vNIC addresses must lie inside them. Absent: only addresses outside every other tenant's blocks."),
});
export const tenantStatus = z.object({
  observedGeneration: z.number().int().optional(),
  namespaces: z.array(z.string()).optional().describe('Namespaces the tenant owns (created when missing).'),
  vms: count().optional().describe("Number of the tenant's VMs."),
  vnics: count().optional().describe("Number of the tenant's vNICs."),
  hosts: count().optional().describe("Number of hosts running the tenant's VMs."),
  policies: count().optional().describe("Number of the tenant's SecurityPolicies."),
  conditions: conditions(),
});
export const tenant = kindSchema('Tenant', tenantSpec, tenantStatus);
export type Tenant = z.infer<typeof tenant>;

// ---------------------------------------------------------------- Tag
export const tagSpec = z.object({
  description: z.string().max(1024).optional().describe('What the tag means, for people.'),
  enforcement: z
    .enum(['Required', 'Preferred'])
    .default('Required')
    .describe('Required: placement must honour the tag. Preferred: informational, scheduling may ignore it.'),
});
export const tagStatus = z.object({
  observedGeneration: z.number().int().optional(),
  hosts: count().optional().describe('Number of hosts carrying the tag.'),
  vms: count().optional().describe('Number of VMs carrying the tag.'),
  networks: count().optional().describe('Number of host networks carrying the tag.'),
  conditions: conditions(),
});
export const tag = kindSchema('Tag', tagSpec, tagStatus);
export type Tag = z.infer<typeof tag>;

// ---------------------------------------------------------------- Host
export const hostNetwork = z.object({
  name: dnsLabel('network name').describe('Network name that vNICs refer to.'),
  vlan: z.number().int().min(0).max(4094).optional().describe('802.1Q VLAN id.'),
  tags: tagList().default([]).describe("Tags of the network; a VM's required tags must be carried by its networks too."),
});
export const hostSpec = z.object({
  tags: tagList().default([]).describe('Tags the host carries (matched against tenant placementTags and VM tags).'),
  capacity: z
    .object({ vms: count().default(320), vnics: count().default(3200) })
    .default({ vms: 320, vnics: 3200 })
    .describe('How many VMs and vNICs the host can run.'),
  networks: z
    .array(hostNetwork)
    .max(256)
    .default([])
    .superRefine((nets, ctx) => uniqueBy(nets, (n) => n.name, ctx, 'name', 'network'))
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] })
    .describe('Networks (port groups) the host offers to vNICs.'),
  unschedulable: z.boolean().default(false).describe('When true, no new VMs are placed on the host.'),
});
export const filterSummary = z.object({
  desiredHash: z.string().optional(),
  appliedHash: z.string().optional(),
  programs: count().optional(),
  rules: count().optional(),
  bindings: count().optional(),
});
export const hostStatus = z.object({
  observedGeneration: z.number().int().optional(),
  allocated: z
    .object({ vms: count(), vnics: count() })
    .optional()
    .describe('VMs and vNICs placed on the host (running or migrating here).'),
  filter: filterSummary.optional().describe("The host's compiled filter: desired versus applied by the agent."),
  conditions: conditions(),
});
export const host = kindSchema('Host', hostSpec, hostStatus);
export type Host = z.infer<typeof host>;

// ---------------------------------------------------------------- VM
export const vnic = z.object({
  name: dnsLabel('vNIC name').describe('Name of the vNIC, unique within the VM.'),
  network: dnsLabel('network name').describe("Name of a network in the host's spec.networks."),
  ip: ipv4().describe('IPv4 address, unique within the network.'),
  mac: mac().describe('MAC address, unique within the network.'),
});
export const vmSpec = z.object({
  tags: tagList().default([]).describe('Tags of the VM: Required tags restrict placement; all tags can select the VM in policies.'),
  hostName: dnsSubdomain('host name').optional().describe('Pin the VM to this host; otherwise the scheduler picks one.'),
  vnics: z
    .array(vnic)
    .min(1, { error: 'a VM needs at least one vNIC' })
    .max(10, { error: 'a VM has at most 10 vNICs' })
    .superRefine((v, ctx) => {
      uniqueBy(v, (n) => n.name, ctx, 'name', 'vNIC name');
      uniqueBy(v, (n) => n.mac.toLowerCase(), ctx, 'mac', 'MAC');
    })
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] })
    .describe('Virtual NICs of the VM (1-10); each has its own firewall.'),
  powerState: z.enum(['On', 'Off']).default('On').describe('On or Off. Quote it in YAML: an unquoted On is a boolean.'),
});
export const vmPhase = z.enum(['Pending', 'Scheduled', 'Running', 'Migrating', 'Quarantined', 'Off']);
export type VMPhase = z.infer<typeof vmPhase>;
export const vmStatus = z.object({
  observedGeneration: z.number().int().optional(),
  phase: vmPhase.optional().describe('Pending, Scheduled, Running, Migrating, Quarantined (deny-all) or Off.'),
  tenant: z.string().optional().describe("Tenant that owns the VM's namespace."),
  hostName: z.string().optional().describe('Host the VM runs on.'),
  targetHostName: z.string().optional().describe('Destination host while the phase is Migrating.'),
  program: z
    .string()
    .optional()
    .describe("Hash of the VM's effective policy set (its tenant and the accepted policies that apply to it, in order): VMs with the same value run the same compiled program."),
  conditions: conditions(),
});
export const vm = kindSchema('VM', vmSpec, vmStatus);
export type VM = z.infer<typeof vm>;

// ---------------------------------------------------------------- SecurityPolicy
export const tier = z.enum(['Provider', 'Tenant', 'Baseline']);
export type Tier = z.infer<typeof tier>;
export const ruleAction = z.enum(['Allow', 'Deny', 'Pass']);
export const enforcement = z.enum(['Enforced', 'Staged']);
export type Enforcement = z.infer<typeof enforcement>;
export type RuleAction = z.infer<typeof ruleAction>;
export const protocol = z.enum(['TCP', 'UDP', 'SCTP', 'ICMP', 'Any']);
export type Protocol = z.infer<typeof protocol>;

export const vmsPeer = z.object({
  tags: tagList().optional().describe('VMs carrying all of these tags.'),
  vmSelector: labelSelector.optional().describe('VMs whose labels match.'),
  tenants: z
    .array(dnsLabel('tenant name'))
    .optional()
    .describe("VMs of these tenants. Default: the policy's own tenant (Tenant tier) or every tenant."),
});
export const cidrPeer = z.object({
  cidr: cidr().describe('IPv4 CIDR, e.g. 10.0.0.0/8.'),
  except: z.array(cidr()).optional().describe('CIDRs inside cidr that do not match.'),
});
const PEER_KINDS = ['vms', 'tenants', 'sameTenant', 'cidr'] as const;
/** Exactly one of the peer kinds is set (like NetworkPolicyPeer / AdminNetworkPolicyPeer). */
export const peer = z
  .object({
    vms: vmsPeer.optional().describe('VMs selected by tags, labels and tenants (ANDed).'),
    tenants: z.array(dnsLabel('tenant name')).min(1).optional().describe('Every VM of these tenants.'),
    sameTenant: z
      .literal(true, { error: 'sameTenant may only be true (omit it otherwise)' })
      .optional()
      .describe("Every VM of the selected vNIC's own tenant."),
    cidr: cidrPeer.optional().describe('Addresses in a CIDR, minus exceptions.'),
  })
  .describe('Exactly one of vms, tenants, sameTenant, cidr.')
  // The same rule for the API server (CEL), so `kubectl apply` rejects what decode rejects.
  .meta({
    'x-kubernetes-validations': [
      {
        rule: '(has(self.vms) ? 1 : 0) + (has(self.tenants) ? 1 : 0) + (has(self.sameTenant) ? 1 : 0) + (has(self.cidr) ? 1 : 0) == 1',
        message: `exactly one of ${PEER_KINDS.join(', ')} must be set`,
      },
    ],
  })
  .superRefine((p, ctx) => {
    const set = PEER_KINDS.filter((k) => p[k] !== undefined);
    if (set.length !== 1)
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `exactly one of ${PEER_KINDS.join(', ')} must be set, got ${set.length ? set.join(', ') : 'none'}`,
      });
  });
export type Peer = z.infer<typeof peer>;

export const portSpec = z
  .object({
    protocol: protocol.default('TCP'),
    port: port().optional(),
    endPort: port().optional(),
  })
  .superRefine((p, ctx) => {
    if (p.endPort !== undefined && p.port === undefined)
      ctx.addIssue({ code: 'custom', path: ['endPort'], message: 'endPort needs port' });
    if (p.endPort !== undefined && p.port !== undefined && p.endPort < p.port)
      ctx.addIssue({ code: 'custom', path: ['endPort'], message: `endPort ${p.endPort} is below port ${p.port}` });
    if ((p.protocol === 'ICMP' || p.protocol === 'Any') && p.port !== undefined)
      ctx.addIssue({ code: 'custom', path: ['port'], message: `protocol ${p.protocol} takes no port` });
  })
  .meta({
    'x-kubernetes-validations': [
      { rule: '!has(self.endPort) || has(self.port)', message: 'endPort needs port', fieldPath: '.endPort' },
      { rule: '!has(self.endPort) || !has(self.port) || self.endPort >= self.port', message: 'endPort is below port', fieldPath: '.endPort' },
      { rule: "!has(self.port) || !has(self.protocol) || !(self.protocol in ['ICMP', 'Any'])", message: 'protocols ICMP and Any take no port', fieldPath: '.port' },
    ],
  });
export type PortSpec = z.infer<typeof portSpec>;

export const rule = z.object({
  name: dnsLabel('rule name').describe('Rule name, unique within its direction; shown by trace and in compiled filters.'),
  action: ruleAction.describe('Allow and Deny end evaluation; Pass skips to the next tier.'),
  peers: z.array(peer).max(100).default([]).describe('Remote ends the rule matches; entries are ORed. Empty: any peer.'),
  ports: z.array(portSpec).max(100).default([]).describe('Ports the rule matches; entries are ORed. Empty: any port.'),
});
export type Rule = z.infer<typeof rule>;

const ruleList = () =>
  z
    .array(rule)
    .max(1000)
    .default([])
    .superRefine((rules, ctx) => uniqueBy(rules, (r) => r.name, ctx, 'name', 'rule name'))
    // The same uniqueness at the API edge: a map list keyed by name (kube-apiserver rejects duplicates
    // with 422 FieldValueDuplicate, cost-free, where a CEL all/exists_one over 1,000 rules would exceed
    // the estimated cost budget). Order is kept: the first matching rule decides.
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] });

export const appliesTo = z.object({
  vmSelector: labelSelector.optional().describe('VMs whose labels match.'),
  tags: tagList().optional().describe('VMs carrying all of these tags.'),
  tenants: z
    .array(dnsLabel('tenant name'))
    .optional()
    .describe("VMs of these tenants (Provider and Baseline tiers; a Tenant-tier policy may name only its own)."),
});
export type AppliesTo = z.infer<typeof appliesTo>;

export const securityPolicySpec = z.object({
  tier: tier
    .default('Tenant')
    .describe('Provider (guardrails, vmsafe-system only), Tenant, or Baseline (vmsafe-system only).'),
  priority: z
    .number()
    .int()
    .min(0, { error: (i) => `${show(i.input)} is below 0` })
    .max(1000, { error: (i) => `${show(i.input)} is above 1000` })
    .default(500)
    .describe('0-1000; lower is evaluated first, ties broken by name.'),
  enforcement: enforcement
    .default('Enforced')
    .describe('Enforced, or Staged: compiled and reported (what enforcing it would change) but not enforced.'),
  appliesTo: appliesTo.default({}).describe('The VMs whose vNICs the policy applies to; fields are ANDed; empty selects every VM in scope.'),
  ingress: ruleList().describe('Rules for traffic to the selected vNICs, in order; the first match decides.'),
  egress: ruleList().describe('Rules for traffic from the selected vNICs, in order; the first match decides.'),
});
const pairChangeStatus = z.object({
  from: z.string().describe('Source tenant, or "outside" for addresses that are no vNIC.'),
  to: z.string().describe('Destination tenant.'),
  ports: z.string().describe('Protocols and ports, e.g. "TCP/22, UDP/53".'),
});
/** What `vmsafe diff` would say about enforcing a staged policy, as the operator sees the fleet. */
export const stagedImpactStatus = z.object({
  observedGeneration: z.number().int().optional().describe('The generation of the policy this impact is for.'),
  summary: z.string().describe('One line: tenant pairs opened and closed, VMs and hosts whose filters would change.'),
  opened: z.array(pairChangeStatus).optional().describe('Tenant pairs (and outside to tenant) that enforcing would open; at most 10.'),
  closed: z.array(pairChangeStatus).optional().describe('Tenant pairs (and outside to tenant) that enforcing would close; at most 10.'),
  vnics: count().optional().describe('vNICs the policy would apply to.'),
  vmsChanged: count().optional().describe('VMs whose filter program would change.'),
  hostsChanged: count().optional().describe('Hosts whose HostFilter would change.'),
});
export type StagedImpactStatus = z.infer<typeof stagedImpactStatus>;
export const securityPolicyStatus = z.object({
  observedGeneration: z.number().int().optional(),
  vnics: count().optional().describe('Number of vNICs the policy applies to.'),
  hosts: z
    .object({ desired: count(), realized: count() })
    .optional()
    .describe('Hosts whose filters need the policy, and how many of them have applied it.'),
  warnings: z.array(z.string()).optional().describe('Lint results, e.g. rules that can never match.'),
  impact: stagedImpactStatus.optional().describe('Staged policies only: what enforcing this generation would change.'),
  conditions: conditions(),
});
// Its label selectors are zod records: see refusingProtoKeys.
export const securityPolicy = kindSchema('SecurityPolicy', refusingProtoKeys(securityPolicySpec), securityPolicyStatus);
export type SecurityPolicy = z.infer<typeof securityPolicy>;

// ---------------------------------------------------------------- HostFilter (compiled, written by the controller)
/** A remote-address match of a compiled rule: an address group, or a CIDR with exceptions. */
export const compiledPeer = z.object({
  group: z.string().optional(),
  cidr: cidr().optional(),
  except: z.array(cidr()).optional(),
});
export type CompiledPeer = z.infer<typeof compiledPeer>;
export const compiledPort = z.object({
  protocol: protocol,
  port: port().optional(),
  endPort: port().optional(),
});
export type CompiledPort = z.infer<typeof compiledPort>;
/**
 * One flattened rule. `tier`/`policy`/`rule` say where it came from (policy = "namespace/name",
 * empty for implicit rules). Pass jumps to the first rule of the next tier.
 */
export const compiledRule = z.object({
  tier: z.enum(['Provider', 'Tenant', 'Baseline', 'Default']),
  policy: z.string().optional(),
  rule: z.string(),
  action: ruleAction,
  peers: z.array(compiledPeer).default([]),
  ports: z.array(compiledPort).default([]),
});
export type CompiledRule = z.infer<typeof compiledRule>;
export const program = z.object({
  /** Content hash of the program ("p-" + hex). */
  id: z.string(),
  egress: z.array(compiledRule),
  ingress: z.array(compiledRule),
});
export type Program = z.infer<typeof program>;
export const addressGroup = z.object({
  /**
   * Inline group: content hash of the members ("ag-" + hex). Shared group: a name stable across
   * membership changes ("ags-" + hex of the group's definition), its members in AddressGroup objects.
   */
  id: z.string(),
  /** IPv4 addresses or CIDRs, sorted; empty for a shared group. */
  addresses: z.array(z.string()),
  /** Members live in the AddressGroup objects labeled `vmsafe.io/address-group: <id>` (large groups). */
  shared: z.boolean().optional(),
});
export type AddressGroup = z.infer<typeof addressGroup>;
export const binding = z.object({
  /** "namespace/name" of the VM. */
  vm: z.string(),
  vnic: z.string(),
  ip: ipv4(),
  mac: mac(),
  program: z.string(),
});
export type Binding = z.infer<typeof binding>;
export const hostFilterSpec = z.object({
  hostName: z.string(),
  programs: z.array(program).default([]),
  addressGroups: z.array(addressGroup).default([]),
  bindings: z.array(binding).default([]),
  /** Content hash over programs, groups and bindings. */
  hash: z.string(),
});
export type HostFilterSpec = z.infer<typeof hostFilterSpec>;
export const hostFilterCounters = z.object({
  lookups: count().optional(),
  allowed: count().optional(),
  denied: count().optional(),
  applies: count().optional(),
  applyFailures: count().optional(),
  driftsDetected: count().optional(),
  /** Egress packets dropped by the spoof guard (also counted in denied). */
  spoofed: count().optional(),
});
export const hostFilterStatus = z.object({
  observedGeneration: z.number().int().optional(),
  /** The agent process that reports (new on every start: a restarted agent holds nothing until it re-applied). */
  bootId: z.string().optional(),
  appliedHash: z.string().optional(),
  appliedAt: z.string().optional(),
  programs: count().optional(),
  rules: count().optional(),
  bindings: count().optional(),
  counters: hostFilterCounters.optional(),
  conditions: conditions(),
});
export const hostFilter = kindSchema('HostFilter', hostFilterSpec, hostFilterStatus);
export type HostFilter = z.infer<typeof hostFilter>;

// ---------------------------------------------------------------- AddressGroup (compiled, shared by hosts)
/**
 * One shard of a large address group: the members inside one /16. A group too large to repeat in every
 * HostFilter is written once, split by /16 so no object outgrows the request limit (a /16 holds at most
 * 32,768 disjoint CIDR blocks, ~600 KB) and a membership change rewrites one small shard; agents match
 * against it like an ipset, without rebuilding their classifier (Antrea's AddressGroup, kube-proxy's ipset).
 */
export const addressGroupShardSpec = z.object({
  /** The shared group id the HostFilters name ("ags-" + hex). */
  group: z.string().describe('Id of the shared address group this shard belongs to.'),
  /** The /16 these members fall in, as a CIDR. */
  prefix: cidr().describe('The /16 block these members fall in.'),
  /** IPv4 addresses or CIDRs inside `prefix`, sorted. */
  addresses: z.array(z.string()).describe('Members inside prefix: IPv4 addresses or aligned CIDR blocks, sorted.'),
  /** Content hash of `addresses` (a cheap equality check for writers and readers). */
  hash: z.string().describe('Content hash of addresses.'),
});
export type AddressGroupShardSpec = z.infer<typeof addressGroupShardSpec>;
export const addressGroupShard = kindSchema('AddressGroup', addressGroupShardSpec, z.object({}));
export type AddressGroupShard = z.infer<typeof addressGroupShard>;
