// Kind metadata beside the schemas: what the CRDs, the API server, the CLI and the informers need.
import type { z } from 'zod';
import { GROUP, VERSION } from './common';
import { addressGroupShard, host, hostFilter, securityPolicy, tag, tenant, vm } from './kinds';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface KindInfo {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  description: string;
  schema: z.ZodType;
  printerColumns: PrinterColumn[];
}

const cond = (type: string) => `.status.conditions[?(@.type=="${type}")].status`;
const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

export const KINDS: readonly KindInfo[] = [
  {
    kind: 'Tenant', plural: 'tenants', singular: 'tenant', shortNames: ['tnt'], namespaced: false,
    description: 'A tenant of the cloud: its namespaces, placement tags, admins and quota.',
    schema: tenant,
    printerColumns: [
      { name: 'Display Name', type: 'string', jsonPath: '.spec.displayName', priority: 1 },
      { name: 'VMs', type: 'integer', jsonPath: '.status.vms' },
      { name: 'vNICs', type: 'integer', jsonPath: '.status.vnics' },
      { name: 'Hosts', type: 'integer', jsonPath: '.status.hosts' },
      { name: 'Policies', type: 'integer', jsonPath: '.status.policies' },
      { name: 'Ready', type: 'string', jsonPath: cond('Ready') },
      age,
    ],
  },
  {
    kind: 'Tag', plural: 'tags', singular: 'tag', shortNames: ['vtag'], namespaced: false,
    description: 'A placement tag carried by hosts, networks and VMs.',
    schema: tag,
    printerColumns: [
      { name: 'Enforcement', type: 'string', jsonPath: '.spec.enforcement' },
      { name: 'Hosts', type: 'integer', jsonPath: '.status.hosts' },
      { name: 'VMs', type: 'integer', jsonPath: '.status.vms' },
      { name: 'Networks', type: 'integer', jsonPath: '.status.networks' },
      age,
    ],
  },
  {
    kind: 'Host', plural: 'hosts', singular: 'host', shortNames: ['hv'], namespaced: false,
    description: 'A hypervisor host: its tags, networks and capacity; status says what its filter enforces.',
    schema: host,
    printerColumns: [
      { name: 'Ready', type: 'string', jsonPath: cond('Ready') },
      { name: 'Converged', type: 'string', jsonPath: cond('FilterConverged') },
      { name: 'VMs', type: 'integer', jsonPath: '.status.allocated.vms' },
      { name: 'vNICs', type: 'integer', jsonPath: '.status.allocated.vnics' },
      { name: 'Programs', type: 'integer', jsonPath: '.status.filter.programs' },
      { name: 'Unschedulable', type: 'boolean', jsonPath: '.spec.unschedulable', priority: 1 },
      age,
    ],
  },
  {
    kind: 'VM', plural: 'vms', singular: 'vm', shortNames: ['vmi'], namespaced: true,
    description: 'A virtual machine of a tenant: its tags and vNICs; status says where it runs and whether it is protected.',
    schema: vm,
    printerColumns: [
      { name: 'Tenant', type: 'string', jsonPath: '.status.tenant' },
      { name: 'Host', type: 'string', jsonPath: '.status.hostName' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Protected', type: 'string', jsonPath: cond('Protected') },
      { name: 'Power', type: 'string', jsonPath: '.spec.powerState', priority: 1 },
      age,
    ],
  },
  {
    kind: 'SecurityPolicy', plural: 'securitypolicies', singular: 'securitypolicy', shortNames: ['secpol', 'sp'],
    namespaced: true,
    description: 'Codified firewall policy in the Provider, Tenant or Baseline tier.',
    schema: securityPolicy,
    printerColumns: [
      { name: 'Tier', type: 'string', jsonPath: '.spec.tier' },
      { name: 'Priority', type: 'integer', jsonPath: '.spec.priority' },
      { name: 'Accepted', type: 'string', jsonPath: cond('Accepted') },
      { name: 'Realized', type: 'string', jsonPath: cond('Realized') },
      { name: 'vNICs', type: 'integer', jsonPath: '.status.vnics' },
      { name: 'Hosts', type: 'integer', jsonPath: '.status.hosts.desired', priority: 1 },
      { name: 'Enforcement', type: 'string', jsonPath: '.spec.enforcement', priority: 1 },
      age,
    ],
  },
  {
    kind: 'HostFilter', plural: 'hostfilters', singular: 'hostfilter', shortNames: ['hf'], namespaced: false,
    description: 'The compiled firewall of one host (written by the operator, applied by the host agent).',
    schema: hostFilter,
    printerColumns: [
      { name: 'Hash', type: 'string', jsonPath: '.spec.hash' },
      { name: 'Applied', type: 'string', jsonPath: '.status.appliedHash' },
      { name: 'Programs', type: 'integer', jsonPath: '.status.programs' },
      { name: 'Bindings', type: 'integer', jsonPath: '.status.bindings' },
      { name: 'Ready', type: 'string', jsonPath: cond('Applied') },
      age,
    ],
  },
  {
    kind: 'AddressGroup', plural: 'addressgroups', singular: 'addressgroup', shortNames: ['ag'], namespaced: false,
    description: 'One /16 shard of a large address group shared by many HostFilters (written by the operator, read by the host agents).',
    schema: addressGroupShard,
    printerColumns: [
      { name: 'Group', type: 'string', jsonPath: '.spec.group' },
      { name: 'Prefix', type: 'string', jsonPath: '.spec.prefix' },
      { name: 'Hash', type: 'string', jsonPath: '.spec.hash', priority: 1 },
      age,
    ],
  },
];

export const KIND_BY_NAME: ReadonlyMap<string, KindInfo> = new Map(KINDS.map((k) => [k.kind, k]));
export const CATEGORY = 'vmsafe';
export { GROUP, VERSION };
