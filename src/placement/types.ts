// The placement vocabulary: what a host offers, what a VM needs, and why a host does not fit.

/** Counts of VMs and vNICs (capacity or allocation). */
export interface Resources {
  vms: number;
  vnics: number;
}

/**
 * A host as placement sees it, built once per host (see `hostState`). Sets instead of arrays so that
 * a feasibility check is a handful of hash lookups.
 */
export interface HostState {
  name: string;
  /** Ready condition True (the agent heartbeats). */
  ready: boolean;
  /** Cordoned: nothing new is placed here; what runs here stays. */
  unschedulable: boolean;
  tags: ReadonlySet<string>;
  /** Network name → the network's tags. */
  networks: ReadonlyMap<string, ReadonlySet<string>>;
  capacity: Resources;
  /** VMs bound here or migrating here (status.hostName or status.targetHostName), powered On. */
  allocated: Resources;
}

/** What a VM asks of a host, computed once per VM (see `vmNeeds`). */
export interface VmNeeds {
  /** "namespace/name". */
  key: string;
  /** Required tags, sorted, unique: tenant placementTags + the VM's tags whose Tag is Required (or unknown). */
  required: readonly string[];
  /** VM tags that name no Tag object: treated as Required, reported. Sorted. */
  unknownTags: readonly string[];
  /** Distinct networks named by the vNICs, sorted. */
  networks: readonly string[];
  /** Number of vNICs (each takes one unit of vNIC capacity). */
  vnics: number;
  /** spec.hostName, when the VM is pinned. */
  pinnedHost?: string;
}

/** Why a host cannot take a VM. CamelCase, like Kubernetes condition reasons. */
export type InfeasibleReason =
  | 'NotReady'
  | 'Unschedulable'
  | 'MissingTags'
  | 'MissingNetwork'
  | 'NetworkTagMismatch'
  | 'InsufficientCapacity';

export interface ReasonMessage<R extends string = string> {
  reason: R;
  message: string;
}

export interface Feasibility {
  feasible: boolean;
  /** Every reason the host does not fit, in a fixed order (empty when feasible). */
  reasons: ReasonMessage<InfeasibleReason>[];
}

/** Minimal shapes of the API objects placement reads (the decoded API types satisfy them). */
export interface TagLike {
  spec: { enforcement?: 'Required' | 'Preferred' };
}
export interface TenantLike {
  spec: { placementTags?: readonly string[] };
}
export interface VmLike {
  metadata: { name: string; namespace?: string };
  spec: {
    tags?: readonly string[];
    hostName?: string;
    vnics: readonly { name: string; network: string }[];
    powerState?: 'On' | 'Off';
  };
}
export interface HostLike {
  metadata: { name: string };
  spec: {
    tags?: readonly string[];
    capacity?: { vms?: number; vnics?: number };
    networks?: readonly { name: string; tags?: readonly string[] }[];
    unschedulable?: boolean;
  };
  status?: { conditions?: readonly { type: string; status: string }[]; allocated?: Resources };
}
