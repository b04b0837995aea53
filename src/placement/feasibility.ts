// Can this host take this VM? A boolean fast path for the scheduler loops, and the full reasons for status.
import type { Feasibility, HostState, InfeasibleReason, ReasonMessage, VmNeeds } from './types';

export interface FeasibilityOptions {
  /**
   * The VM is already counted in host.allocated (bound or migrating here): capacity must not count
   * it twice.
   */
  resident?: boolean;
  /**
   * Judge a VM that already runs here: cordoning (unschedulable) keeps new VMs away but does not
   * evict, like `kubectl cordon`.
   */
  ignoreUnschedulable?: boolean;
}

/** Network rule: every network the vNICs name must exist on the host and carry all required tags. */
function networkTagsMissing(needs: VmNeeds, netTags: ReadonlySet<string>): string[] {
  const missing: string[] = [];
  for (const t of needs.required) if (!netTags.has(t)) missing.push(t);
  return missing;
}

function fitsCapacity(needs: VmNeeds, host: HostState, resident: boolean): boolean {
  const vms = host.allocated.vms + (resident ? 0 : 1);
  const vnics = host.allocated.vnics + (resident ? 0 : needs.vnics);
  return vms <= host.capacity.vms && vnics <= host.capacity.vnics;
}

/** The same rules as `feasibility`, without building messages (hot path of the scheduler). */
export function isFeasible(needs: VmNeeds, host: HostState, opts: FeasibilityOptions = {}): boolean {
  if (!host.ready) return false;
  if (host.unschedulable && !opts.ignoreUnschedulable) return false;
  for (const t of needs.required) if (!host.tags.has(t)) return false;
  for (const n of needs.networks) {
    const netTags = host.networks.get(n);
    if (!netTags) return false;
    for (const t of needs.required) if (!netTags.has(t)) return false;
  }
  return fitsCapacity(needs, host, opts.resident ?? false);
}

/** Static part only (tags, networks): what the batch planner caches per host signature. */
export function matchesTagsAndNetworks(needs: VmNeeds, host: HostState): boolean {
  for (const t of needs.required) if (!host.tags.has(t)) return false;
  for (const n of needs.networks) {
    const netTags = host.networks.get(n);
    if (!netTags) return false;
    for (const t of needs.required) if (!netTags.has(t)) return false;
  }
  return true;
}

const list = (xs: readonly string[]) => xs.join(', ');

/** Every reason `host` cannot take the VM, each with a message naming the host and what is missing. */
export function feasibility(needs: VmNeeds, host: HostState, opts: FeasibilityOptions = {}): Feasibility {
  const reasons: ReasonMessage<InfeasibleReason>[] = [];
  const h = host.name;
  if (!host.ready) reasons.push({ reason: 'NotReady', message: `host ${h} is not Ready` });
  if (host.unschedulable && !opts.ignoreUnschedulable)
    reasons.push({ reason: 'Unschedulable', message: `host ${h} is unschedulable (cordoned)` });

  const missingTags = needs.required.filter((t) => !host.tags.has(t));
  if (missingTags.length) reasons.push({ reason: 'MissingTags', message: `host ${h} lacks tags ${list(missingTags)}` });

  const missingNets: string[] = [];
  const mismatched: string[] = [];
  for (const n of needs.networks) {
    const netTags = host.networks.get(n);
    if (!netTags) missingNets.push(n);
    else {
      const lacking = networkTagsMissing(needs, netTags);
      if (lacking.length) mismatched.push(`network ${n} on host ${h} lacks tags ${list(lacking)}`);
    }
  }
  if (missingNets.length)
    reasons.push({
      reason: 'MissingNetwork',
      message: `host ${h} has no network${missingNets.length > 1 ? 's' : ''} ${list(missingNets)}`,
    });
  if (mismatched.length) reasons.push({ reason: 'NetworkTagMismatch', message: mismatched.join('; ') });

  const resident = opts.resident ?? false;
  if (!fitsCapacity(needs, host, resident)) {
    const parts: string[] = [];
    const addVms = resident ? 0 : 1;
    const addVnics = resident ? 0 : needs.vnics;
    if (host.allocated.vms + addVms > host.capacity.vms)
      parts.push(`${host.allocated.vms}/${host.capacity.vms} VMs in use`);
    if (host.allocated.vnics + addVnics > host.capacity.vnics)
      parts.push(`${host.allocated.vnics}/${host.capacity.vnics} vNICs in use, the VM needs ${needs.vnics}`);
    reasons.push({ reason: 'InsufficientCapacity', message: `host ${h} is full: ${parts.join('; ')}` });
  }
  return { feasible: reasons.length === 0, reasons };
}
