// VM controller: tag-matched placement, quarantine, make-before-break migration and phase, decided by
// the pure `decideVm` (src/placement) from the cache; writes only the status difference.
import type { Host, HostFilter, Tag, VM } from '../api';
import { Inventory } from '../policy/inventory';
import { decideVm, type VmAction } from '../placement';
import { keyOf } from '../runtime/client';
import { setConditions } from '../runtime/conditions';
import { Controller, specChanged, type ReconcileContext, type Result } from '../runtime/controller';
import { inputKey } from './compile-feed';
import type { OperatorContext } from './context';
import { reportInvalid } from './rejection';
import { heartbeat } from './decide-host';
import { agentLeaseName, hostOfAgentLease, SYSTEM_NAMESPACE } from './names';
import type { LeaseObj } from './world';

/**
 * A VM just bound to a host is not written Scheduled at once: it is assumed (see CompileFeed.assume)
 * and written once, Running, when the host's agent has applied a filter with its program. Only if that
 * takes longer than this is it written Scheduled meanwhile, so status still says where it waits.
 */
const ASSUME_GRACE_MS = 5_000;

const READY = (h: Host) => h.status?.conditions?.find((c) => c.type === 'Ready')?.status;

/** Did a Host change in a way placement cares about (not just its counters)? */
function placementChanged(a: Host, b: Host): boolean {
  return (
    READY(a) !== READY(b) ||
    a.spec.unschedulable !== b.spec.unschedulable ||
    JSON.stringify([a.spec.tags, a.spec.networks, a.spec.capacity]) !== JSON.stringify([b.spec.tags, b.spec.networks, b.spec.capacity])
  );
}

const EVENT_OF: Partial<Record<VmAction['type'], (a: any) => [string, string]>> = {
  Bind: (a) => ['Scheduled', `bound to host ${a.host}`],
  StartMigration: (a) => ['Migrating', `migrating from host ${a.from} to host ${a.to} (make-before-break)`],
  CompleteMigration: (a) => ['Migrated', `migrated from host ${a.from} to host ${a.to}`],
  CancelMigration: (a) => ['MigrationCancelled', `stays on host ${a.from}; migration to ${a.to} no longer needed`],
  Quarantine: (a) => ['Quarantined', `quarantined on host ${a.host}: ${a.reason}`],
};

export function vmController(ctx: OperatorContext): Controller {
  const { world, ledger, feed } = ctx;
  /** VMs waiting for a host: any host change may let them in. */
  const pending = new Set<string>();
  let tags: { version: string; size: number; map: Map<string, Tag> } | undefined;
  /** Tags by name, rebuilt only when the Tag cache moved. */
  const tagIndex = () => {
    const version = world.tags.resourceVersion();
    const size = world.tags.store.size;
    if (!tags || tags.version !== version || tags.size !== size) tags = { version, size, map: world.tagsByName() };
    return tags.map;
  };

  const agentAlive = (h: string) =>
    heartbeat(world.leases.get(`${SYSTEM_NAMESPACE}/${agentLeaseName(h)}`)?.spec, new Date(ctx.clock.now())).status === 'True';

  const reconcile = async (key: string, rc: ReconcileContext): Promise<Result | void> => {
    const vm = world.vms.get(key);
    if (!vm) {
      ledger.remove(key);
      pending.delete(key);
      const invalid = world.vms.getInvalid(key);
      if (invalid) await reportInvalid(ctx, invalid, rc);
      return;
    }
    const tenant = world.tenantOfNamespace(vm.metadata.namespace);
    const gen = vm.metadata.generation;
    if (!tenant) {
      ledger.remove(key);
      feed.settleAssumption(key, undefined);
      pending.add(key);
      const msg = `namespace ${vm.metadata.namespace} is not owned by any Tenant`;
      await ctx.status.update('VM', vm, {
        phase: 'Pending',
        conditions: setConditions(vm.status?.conditions, [
          { type: 'Scheduled', status: 'False', reason: 'NoTenant', message: msg, observedGeneration: gen },
          { type: 'PlacementCompliant', status: 'Unknown', reason: 'NotScheduled', message: 'the VM is not placed on any host', observedGeneration: gen },
          { type: 'Protected', status: 'Unknown', reason: 'NotScheduled', message: 'the VM runs nowhere yet', observedGeneration: gen },
        ], rc.now()),
      });
      return;
    }
    // Address ownership (issue 12), as the compiler judged this generation: a VM with a vNIC address
    // it does not own is bound nowhere (the compiler gives it no host), so it is not placed either.
    // Not taken in yet: the compile that takes it in enqueues it (below).
    if (feed.compiledAt(inputKey('VM', vm.metadata), gen) === undefined) return;
    const refusal = feed.compiler.inventory.addressRefusal(key);
    if (refusal) {
      ledger.remove(key);
      feed.settleAssumption(key, undefined);
      pending.delete(key);
      const msg = `vNIC ${refusal.vnic}: ${refusal.message}`;
      const r = await ctx.status.update('VM', vm, {
        phase: 'Pending',
        tenant: tenant.metadata.name,
        conditions: setConditions(vm.status?.conditions, [
          { type: 'Scheduled', status: 'False', reason: refusal.reason, message: msg, observedGeneration: gen },
          { type: 'PlacementCompliant', status: 'Unknown', reason: 'NotScheduled', message: 'the VM is not placed on any host', observedGeneration: gen },
          { type: 'Protected', status: 'False', reason: refusal.reason, message: `never bound: ${msg}`, observedGeneration: gen },
        ], rc.now()),
      });
      if (r.written && vm.status?.conditions?.find((c) => c.type === 'Protected')?.reason !== refusal.reason)
        ctx.events.event(vm, 'Warning', refusal.reason, `not bound: ${msg}`);
      return;
    }
    const compiler = feed.compiler;
    const programKey = compiler.programKeyOf(vm);
    const filters = world.filters;
    const assumed = feed.assumption(key);
    // Decide from where the VM was assumed to go while its status does not say yet.
    const view = feed.withAssumption(vm);
    const d = decideVm({
      vm: view,
      tenant,
      tagsByName: tagIndex(),
      hosts: ledger.hostStates(),
      programKey,
      appliedPrograms: (h) => {
        // A host whose agent stopped heartbeating holds nothing we can count on (it may have crashed).
        if (!agentAlive(h)) return undefined;
        const hf: HostFilter | undefined = filters.get(h);
        const p = feed.applied.programOf(h, hf?.status?.appliedHash, key);
        return p === undefined ? undefined : new Set([p]);
      },
      generationApplied: (h) => feed.realizedOn(h, filters.get(h)?.status?.appliedHash, inputKey('VM', vm.metadata), gen),
      programsOn: (h) => ledger.programsOn(h),
    });
    const s = d.status;
    const desired: NonNullable<VM['status']> = {
      phase: s.phase,
      tenant: tenant.metadata.name,
      ...(s.hostName !== undefined ? { hostName: s.hostName } : {}),
      ...(s.targetHostName !== undefined ? { targetHostName: s.targetHostName } : {}),
      ...(s.program !== undefined ? { program: s.program } : {}),
      conditions: setConditions(view.status?.conditions, s.conditions.map((c) => ({ ...c, observedGeneration: gen })), rc.now()),
    };
    // Assume before writing: the next decision (maybe for another VM) must see this one's host taken.
    ledger.set(key, desired, vm.spec.vnics.length);
    if (s.phase === 'Pending') pending.add(key);
    else pending.delete(key);
    /** Record the decided transition (if it is one) as an Event. */
    const recordTransition = () => {
      const ev = EVENT_OF[d.action.type];
      if (!ev) return;
      const [reason, message] = ev(d.action);
      ctx.events.event(vm, d.action.type === 'Quarantine' ? 'Warning' : 'Normal', reason, message);
    };
    if (!vm.status?.hostName && s.phase === 'Scheduled' && s.hostName !== undefined && s.targetHostName === undefined) {
      const now = ctx.clock.now();
      const left = assumed ? assumed.at + ASSUME_GRACE_MS - now : ASSUME_GRACE_MS;
      if (left > 0) {
        if (!assumed || assumed.status.hostName !== s.hostName || assumed.status.program !== s.program) feed.assume(vm, desired, now);
        if (d.action.type === 'Bind') recordTransition();
        return { requeueAfter: left };
      }
    }
    const r = await ctx.status.update('VM', vm, desired);
    if (assumed) feed.settleAssumption(key, { ...vm, status: desired });
    if (r.written) recordTransition();
    if (s.phase === 'Quarantined' && vm.status?.phase !== 'Quarantined')
      rc.log.warn({ host: s.hostName, reason: s.conditions[1]?.reason }, 'VM quarantined');
  };

  const c = new Controller({ name: 'vm', reconcile, workers: 32, logger: ctx.log, metrics: ctx.metrics, clock: ctx.clock });
  c.watchOwn(world.vms);
  world.vms.on({
    add: (vm) => ledger.set(keyOf(vm), feed.withAssumption(vm).status, vm.spec.vnics.length),
    update: (_o, vm) => ledger.set(keyOf(vm), feed.withAssumption(vm).status, vm.spec.vnics.length),
    delete: (vm) => {
      ledger.remove(keyOf(vm));
      // Capacity freed: waiting VMs may fit now.
      retryPending();
    },
  });
  /**
   * Placement readiness: the Host's Ready condition, or a fresh heartbeat of its agent that the Host
   * controller has not reported yet. At cold start this lets VMs be placed at once instead of each
   * being decided Unschedulable (NotReady) and decided again after 512 Host status writes. Expiry is
   * still reported by the Host controller (Ready=False), which rebuilds the view through onHost.
   */
  const placementReady = (h: Host) => {
    if (READY(h) === 'True') return true;
    const lease = world.leases.get(`${SYSTEM_NAMESPACE}/${agentLeaseName(h.metadata.name)}`)?.spec;
    return heartbeat(lease, new Date(ctx.clock.now())).status === 'True';
  };
  /** Waiting VMs retried once per burst of host changes (not once per host: 512 x 40,000 adds). */
  let retryScheduled = false;
  const retryPending = () => {
    if (retryScheduled || pending.size === 0) return;
    retryScheduled = true;
    setImmediate(() => {
      retryScheduled = false;
      for (const k of pending) c.enqueue(k);
    });
  };
  /** VMs on a host: by status, and assumed there. */
  const vmsOn = (host: string) => [...world.vms.store.keysByIndex('host', host), ...feed.assumedOn(host)];
  const onHost = (h: Host) => {
    ledger.updateHost(h, placementReady(h));
    for (const k of vmsOn(h.metadata.name)) c.enqueue(k);
    retryPending();
  };
  world.hosts.on({
    add: onHost,
    update: (a, b) => {
      ledger.updateHost(b, placementReady(b));
      if (placementChanged(a, b)) onHost(b);
    },
    delete: (h) => {
      ledger.removeHost(h.metadata.name);
      for (const k of vmsOn(h.metadata.name)) c.enqueue(k);
    },
  });
  // An agent started heartbeating: its host can take VMs before the Host controller reports Ready.
  const onLease = (l: LeaseObj) => {
    const name = hostOfAgentLease(l.metadata.name);
    const h = name === undefined ? undefined : world.hosts.get(name);
    if (!h || ledger.hostStates().get(name!)?.ready || !placementReady(h)) return;
    onHost(h);
  };
  world.leases.on({ add: onLease, update: (_a, b) => onLease(b) });
  // The agent applied a filter: VMs on that host may become Running (or finish migrating there),
  // those whose program or realized generation differs between the two versions (and any assumed there).
  // (VMs are listed by their own informer: the filters' first list maps to nothing new.)
  world.filters.on({
    add: (f, initialList) => {
      if (!initialList) enqueueHost(f.metadata.name);
    },
  });
  feed.onAgentReport((host, from, to) => {
    for (const k of world.vms.store.keysByIndex('host', host)) {
      const vm = world.vms.get(k);
      if (!vm || feed.appliedMoved(host, from, to, inputKey('VM', vm.metadata), vm.metadata.generation, k)) c.enqueue(k);
    }
    for (const k of feed.assumedOn(host)) c.enqueue(k);
  });
  function enqueueHost(host: string) {
    for (const k of vmsOn(host)) c.enqueue(k);
  }
  feed.onAppliedReset((hosts) => hosts.forEach(enqueueHost));
  // Placement inputs that live on other kinds.
  // Spec changes only: a Tag's status counts VMs, so each VM created would otherwise re-reconcile every
  // VM with that tag (thousands at 40,000 VMs: seconds of latency for the next VM).
  c.watchMapped(world.tenants, (t) => Inventory.namespacesOf(t).flatMap((ns) => world.vms.store.keysByIndex('namespace', ns)), { onUpdate: specChanged, skipInitialList: true });
  c.watchMapped(world.tags, (t) => world.vms.store.keysByIndex('tag', t.metadata.name), { onUpdate: specChanged, skipInitialList: true });
  // A policy change that gives a VM a new program reaches it when the agent applies it (above).
  // Another VM's or a Tenant's change can grant or take a VM's addresses.
  feed.onRefusalsChanged((keys) => keys.forEach((k) => c.enqueue(k)));
  feed.onCompiled((keys) => {
    for (const k of keys) if (k.startsWith('VM:')) c.enqueue(k.slice('VM:'.length));
  });
  return c;
}
