// The vmsafe.io kinds: zod schemas are the single source of types, validation and CRDs.
import { z } from 'zod';
import {
  cidr, conditions, count, dnsLabel, dnsSubdomain, ipv4, kindSchema, labelSelector, mac, port, tagList,
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
  displayName: z.string().max(256).optional(),
  /** Namespaces owned by the tenant; when empty, one named after the tenant (created by the controller). */
  namespaces: z.array(dnsLabel('namespace')).max(64).optional(),
  /** Tags every host running this tenant's VMs must carry. */
  placementTags: tagList().default([]),
  admins: z.array(rbacSubject).max(64).default([]),
  quota: z.object({ vms: count().optional(), vnics: count().optional() }).optional(),
});
export const tenantStatus = z.object({
  observedGeneration: z.number().int().optional(),
  namespaces: z.array(z.string()).optional(),
  vms: count().optional(),
  vnics: count().optional(),
  hosts: count().optional(),
  policies: count().optional(),
  conditions: conditions(),
});
export const tenant = kindSchema('Tenant', tenantSpec, tenantStatus);
export type Tenant = z.infer<typeof tenant>;

// ---------------------------------------------------------------- Tag
export const tagSpec = z.object({
  description: z.string().max(1024).optional(),
  /** Required: placement must honour it. Preferred: informational, scheduling may ignore it. */
  enforcement: z.enum(['Required', 'Preferred']).default('Required'),
});
export const tagStatus = z.object({
  observedGeneration: z.number().int().optional(),
  hosts: count().optional(),
  vms: count().optional(),
  networks: count().optional(),
  conditions: conditions(),
});
export const tag = kindSchema('Tag', tagSpec, tagStatus);
export type Tag = z.infer<typeof tag>;

// ---------------------------------------------------------------- Host
export const hostNetwork = z.object({
  name: dnsLabel('network name'),
  vlan: z.number().int().min(0).max(4094).optional(),
  tags: tagList().default([]),
});
export const hostSpec = z.object({
  tags: tagList().default([]),
  capacity: z
    .object({ vms: count().default(320), vnics: count().default(3200) })
    .default({ vms: 320, vnics: 3200 }),
  networks: z
    .array(hostNetwork)
    .max(256)
    .default([])
    .superRefine((nets, ctx) => uniqueBy(nets, (n) => n.name, ctx, 'name', 'network')),
  unschedulable: z.boolean().default(false),
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
  allocated: z.object({ vms: count(), vnics: count() }).optional(),
  filter: filterSummary.optional(),
  conditions: conditions(),
});
export const host = kindSchema('Host', hostSpec, hostStatus);
export type Host = z.infer<typeof host>;

// ---------------------------------------------------------------- VM
export const vnic = z.object({
  name: dnsLabel('vNIC name'),
  /** Name of a network in the host's spec.networks. */
  network: dnsLabel('network name'),
  ip: ipv4(),
  mac: mac(),
});
export const vmSpec = z.object({
  tags: tagList().default([]),
  /** Optional pin; otherwise the scheduler picks a host. */
  hostName: dnsSubdomain('host name').optional(),
  vnics: z
    .array(vnic)
    .min(1, { error: 'a VM needs at least one vNIC' })
    .max(10, { error: 'a VM has at most 10 vNICs' })
    .superRefine((v, ctx) => {
      uniqueBy(v, (n) => n.name, ctx, 'name', 'vNIC name');
      uniqueBy(v, (n) => n.mac.toLowerCase(), ctx, 'mac', 'MAC');
    }),
  powerState: z.enum(['On', 'Off']).default('On'),
});
export const vmPhase = z.enum(['Pending', 'Scheduled', 'Running', 'Migrating', 'Quarantined', 'Off']);
export type VMPhase = z.infer<typeof vmPhase>;
export const vmStatus = z.object({
  observedGeneration: z.number().int().optional(),
  phase: vmPhase.optional(),
  /** Tenant that owns the VM's namespace. */
  tenant: z.string().optional(),
  hostName: z.string().optional(),
  /** Destination while phase is Migrating. */
  targetHostName: z.string().optional(),
  /** Content hash of the VM's effective program. */
  program: z.string().optional(),
  conditions: conditions(),
});
export const vm = kindSchema('VM', vmSpec, vmStatus);
export type VM = z.infer<typeof vm>;

// ---------------------------------------------------------------- SecurityPolicy
export const tier = z.enum(['Provider', 'Tenant', 'Baseline']);
export type Tier = z.infer<typeof tier>;
export const ruleAction = z.enum(['Allow', 'Deny', 'Pass']);
export type RuleAction = z.infer<typeof ruleAction>;
export const protocol = z.enum(['TCP', 'UDP', 'SCTP', 'ICMP', 'Any']);
export type Protocol = z.infer<typeof protocol>;

export const vmsPeer = z.object({
  tags: tagList().optional(),
  vmSelector: labelSelector.optional(),
  tenants: z.array(dnsLabel('tenant name')).optional(),
});
export const cidrPeer = z.object({
  cidr: cidr(),
  except: z.array(cidr()).optional(),
});
const PEER_KINDS = ['vms', 'tenants', 'sameTenant', 'cidr'] as const;
/** Exactly one of the peer kinds is set (like NetworkPolicyPeer / AdminNetworkPolicyPeer). */
export const peer = z
  .object({
    vms: vmsPeer.optional(),
    tenants: z.array(dnsLabel('tenant name')).min(1).optional(),
    sameTenant: z.literal(true, { error: 'sameTenant may only be true (omit it otherwise)' }).optional(),
    cidr: cidrPeer.optional(),
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
  });
export type PortSpec = z.infer<typeof portSpec>;

export const rule = z.object({
  name: dnsLabel('rule name'),
  action: ruleAction,
  /** No peers = any peer; entries are ORed. */
  peers: z.array(peer).max(100).default([]),
  /** No ports = any port; entries are ORed. */
  ports: z.array(portSpec).max(100).default([]),
});
export type Rule = z.infer<typeof rule>;

const ruleList = () =>
  z
    .array(rule)
    .max(1000)
    .default([])
    .superRefine((rules, ctx) => uniqueBy(rules, (r) => r.name, ctx, 'name', 'rule name'));

export const appliesTo = z.object({
  vmSelector: labelSelector.optional(),
  tags: tagList().optional(),
  tenants: z.array(dnsLabel('tenant name')).optional(),
});
export type AppliesTo = z.infer<typeof appliesTo>;

export const securityPolicySpec = z.object({
  tier: tier.default('Tenant'),
  /** 0–1000, lower is evaluated first; ties broken by name. */
  priority: z
    .number()
    .int()
    .min(0, { error: (i) => `${show(i.input)} is below 0` })
    .max(1000, { error: (i) => `${show(i.input)} is above 1000` })
    .default(500),
  /** Empty selects every VM in scope. Fields are ANDed. */
  appliesTo: appliesTo.default({}),
  ingress: ruleList(),
  egress: ruleList(),
});
export const securityPolicyStatus = z.object({
  observedGeneration: z.number().int().optional(),
  vnics: count().optional(),
  hosts: z.object({ desired: count(), realized: count() }).optional(),
  warnings: z.array(z.string()).optional(),
  conditions: conditions(),
});
export const securityPolicy = kindSchema('SecurityPolicy', securityPolicySpec, securityPolicyStatus);
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
  /** Content hash of the members ("ag-" + hex). */
  id: z.string(),
  /** IPv4 addresses or CIDRs, sorted. */
  addresses: z.array(z.string()),
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
});
export const hostFilterStatus = z.object({
  observedGeneration: z.number().int().optional(),
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
