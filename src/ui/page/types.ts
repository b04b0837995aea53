// The JSON the dashboard server sends and the page renders: one definition for both sides.
export type HostState = 'Healthy' | 'Converging' | 'NotReady' | 'ApplyFailed' | 'Drift' | 'TooLarge';

export interface HostCell {
  name: string;
  pool: string;
  state: HostState;
  reason: string;
  vms: number;
  capacity: number;
  programs: number;
}

export interface Totals {
  hosts: number;
  hostsByState: Record<string, number>;
  vms: number;
  vmsByPhase: Record<string, number>;
  vnics: number;
  tenants: number;
  policies: number;
  policiesRealized: number;
  policiesNotAccepted: number;
}

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

export interface FleetView {
  totals: Totals;
  cells: HostCell[];
  states: HostState[];
  phases: string[];
}

export interface HostView {
  name: string;
  cell: HostCell;
  tags: string[];
  allocated: { vms: number; vnics: number };
  capacity: { vms: number; vnics: number };
  filter: { desiredHash?: string; appliedHash?: string; programs?: number; rules?: number; bindings?: number };
  conditions: Condition[];
  vms: Array<{ key: string; phase: string; tenant: string; program: string; vnics: number }>;
  events: Array<{ type: string; reason: string; message: string; time: string }>;
}

export interface TenantsView {
  /** true: Tenant objects are not readable; these are the tenants of the VMs that are. */
  derived?: boolean;
  total: number;
  matched: number;
  tenants: Array<{ name: string; displayName: string; vms: number; ready: string }>;
}

export interface PolicyRow {
  key: string;
  tier: string;
  priority: number;
  accepted: string;
  realized: string;
  reason: string;
  hostsDesired: number;
  hostsRealized: number;
  vnics: number;
}

/** Cross-tenant reachability, from the analyzer when it is available: tenants with the ports that pass. */
export type Reach =
  | {
      available: true;
      /** When the analysis ran (ISO time): it is redone when the objects change, at most every few seconds. */
      at: string;
      reaches: Array<{ tenant: string; ports: string }>;
      reachedBy: Array<{ tenant: string; ports: string }>;
      /** Ports its vNICs accept from addresses that are no vNIC ('' = none). */
      outside: string;
    }
  | { available: false; why: string };

export interface TenantView {
  /** true: the Tenant object is not readable; built from the tenant's VMs and policies that are. */
  derived?: boolean;
  name: string;
  displayName: string;
  namespaces: string[];
  placementTags: string[];
  conditions: Condition[];
  vms: Array<{ key: string; phase: string; host: string }>;
  policies: PolicyRow[];
  reach: Reach;
}

export interface PoliciesView {
  policies: PolicyRow[];
}

export interface Problem {
  kind: 'Host' | 'VM' | 'SecurityPolicy';
  name: string;
  problem: string;
  reason: string;
  message: string;
}

export interface ProblemsView {
  total: number;
  problems: Problem[];
}

export interface TraceSide {
  verdict: string;
  tier: string;
  policy: string | null;
  rule: string | null;
  host: string | null;
}
export interface TraceAnswer {
  verdict: string;
  egress: TraceSide | null;
  ingress: TraceSide | null;
  /** The CLI's text output, word for word. */
  text: string;
}

/** What the server could not read with the kubeconfig it was given (e.g. a tenant admin's). */
export interface Access {
  /** Who the API server says the dashboard acts as (SelfSubjectReview), else the kubeconfig's user name. */
  user: string;
  /** Namespaced kinds are watched in this namespace only (`vmsafe ui --namespace`). */
  namespace?: string;
  denied: Array<{ resource: string; message: string }>;
  synced: boolean;
}

/** Server-sent event payload. */
export interface Push {
  totals: Totals;
  cells: HostCell[];
  removed: string[];
  kinds: string[];
  access: Access;
}
