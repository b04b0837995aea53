// Tenant controller: creates the tenant's namespaces, binds its admins there, and reports counts.
// Namespaces get no ownerReference on purpose: deleting a Tenant must not wipe its workloads.
import type { Tenant } from '../api';
import { Inventory } from '../policy/inventory';
import { NAMESPACES, type KubeObject } from '../runtime/client';
import { deepEqual } from '../runtime/jsondiff';
import { isAlreadyExists, isNotFound } from '../runtime/errors';
import { Controller, specChanged, type ReconcileContext } from '../runtime/controller';
import { inputKey } from './compile-feed';
import { REPORTING_WORKERS, type OperatorContext } from './context';
import { decideTenantStatus } from './decide-counts';
import { reportInvalid } from './rejection';
import {
  MANAGED_BY, MANAGED_BY_LABEL, TENANT_ADMIN_CLUSTERROLE, TENANT_ADMINS_BINDING, TENANT_LABEL,
} from './names';
import { ROLEBINDINGS } from './world';

const COUNTS_COALESCE_MS = 500;

export function desiredRoleBinding(t: Tenant, namespace: string): KubeObject & Record<string, unknown> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: {
      name: TENANT_ADMINS_BINDING,
      namespace,
      labels: { [TENANT_LABEL]: t.metadata.name, [MANAGED_BY_LABEL]: MANAGED_BY },
    },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: TENANT_ADMIN_CLUSTERROLE },
    subjects: t.spec.admins.map((a) => ({
      kind: a.kind,
      name: a.name,
      ...(a.kind === 'ServiceAccount' ? { namespace: a.namespace ?? namespace } : { apiGroup: 'rbac.authorization.k8s.io' }),
    })),
  };
}

import { CONFLICT_PREFIX } from './decide-counts';

/** Namespaces the last status reported as another tenant's that are this tenant's now. */
function adopted(t: Tenant, mine: string[]): string[] {
  const ready = t.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.reason !== 'NamespaceConflict' || !ready.message.startsWith(CONFLICT_PREFIX)) return [];
  const before = new Set(ready.message.slice(CONFLICT_PREFIX.length).split(', '));
  return mine.filter((ns) => before.has(ns));
}

export function tenantController(ctx: OperatorContext): Controller {
  const { world } = ctx;
  const nsClient = ctx.client.resource(NAMESPACES);
  const rbClient = ctx.client.resource<KubeObject & Record<string, unknown>>(ROLEBINDINGS);

  const ensureNamespace = async (t: Tenant, ns: string, r: ReconcileContext) => {
    if (world.namespaces.get(ns)) return;
    try {
      await nsClient.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { [TENANT_LABEL]: t.metadata.name } } });
      ctx.events.event(t, 'Normal', 'NamespaceCreated', `created namespace ${ns}`);
      r.log.info({ namespace: ns }, 'namespace created');
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  };

  const ensureAdmins = async (t: Tenant, ns: string) => {
    const current = world.roleBindings.get(`${ns}/${TENANT_ADMINS_BINDING}`) as (KubeObject & Record<string, unknown>) | undefined;
    if (t.spec.admins.length === 0) {
      if (current)
        try {
          await rbClient.delete({ namespace: ns, name: TENANT_ADMINS_BINDING });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      return;
    }
    const want = desiredRoleBinding(t, ns);
    if (!current) {
      try {
        await rbClient.create(want);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      return;
    }
    if (deepEqual(current.subjects, want.subjects) && deepEqual(current.roleRef, want.roleRef)) return;
    await rbClient.replace({ ...want, metadata: { ...want.metadata, resourceVersion: current.metadata.resourceVersion } });
  };

  const reconcile = async (name: string, r: ReconcileContext) => {
    const t = world.tenants.get(name);
    if (!t) {
      const invalid = world.tenants.getInvalid(name);
      if (invalid) await reportInvalid(ctx, invalid, r);
      return;
    }
    const namespaces = Inventory.namespacesOf(t);
    const conflicts = namespaces.filter((ns) => world.tenantOfNamespace(ns)?.metadata.name !== name);
    const mine = namespaces.filter((ns) => !conflicts.includes(ns));
    for (const ns of mine) await ensureNamespace(t, ns, r);
    for (const ns of mine) if (world.namespaces.get(ns) || t.spec.admins.length === 0) await ensureAdmins(t, ns);
    let vms = 0;
    let vnics = 0;
    const hosts = new Set<string>();
    let policies = 0;
    for (const ns of mine) {
      for (const vm of world.vms.byIndex('namespace', ns)) {
        vms++;
        vnics += vm.spec.vnics.length;
        if (vm.status?.hostName && vm.status.phase !== 'Pending' && vm.status.phase !== 'Off') hosts.add(vm.status.hostName);
      }
      policies += world.policies.store.countByIndex('namespace', ns);
    }
    // Ready by generation: every host running the tenant's VMs applied a filter compiled from it.
    const gen = t.metadata.generation;
    const key = inputKey('Tenant', t.metadata);
    const compiled = ctx.feed.compiledAt(key, gen) !== undefined;
    const notApplied = compiled ? [...hosts].sort().filter((h) => !ctx.feed.realizedOn(h, world.filters.get(h)?.status?.appliedHash, key, gen)) : [];
    const tags = world.tags;
    const status = decideTenantStatus(
      t,
      {
        namespaces,
        missingNamespaces: mine.filter((ns) => !world.namespaces.get(ns)),
        conflicts,
        vms,
        vnics,
        hosts: hosts.size,
        policies,
        unknownTags: t.spec.placementTags.filter((tg) => !tags.get(tg)),
        compiled,
        notApplied,
        tooLarge: notApplied.filter((h) => ctx.feed.tooLarge.get(h)),
      },
      new Date(ctx.clock.now()),
    );
    await ctx.status.update('Tenant', t, status);
    // A namespace this tenant waited for (its older claimant is gone) comes with whatever is in it:
    // say so loudly, once, rather than hand another tenant's VMs and policies over in silence.
    for (const ns of adopted(t, mine)) ctx.events.event(t, 'Warning', 'NamespaceAdopted', `namespace ${ns}: its earlier claimant is gone; the VMs and policies in it are now this tenant's`);
  };

  const c = new Controller({ name: 'tenant', reconcile, workers: REPORTING_WORKERS, logger: ctx.log, metrics: ctx.metrics, clock: ctx.clock });
  // The echo of our own status write changes nothing this reconcile reads.
  c.watchOwn(world.tenants, { skipUpdate: (a, b) => ctx.status.isOwnEcho('Tenant', a, b) });
  const byNs = (ns: string | undefined) => (ns ? world.tenants.store.keysByIndex('namespace', ns) : []);
  // Tenants are listed by their own informer: the first lists of the kinds below map to nothing new.
  const initial = { skipInitialList: true };
  c.watchMapped(world.vms, (vm) => byNs(vm.metadata.namespace), {
    ...initial,
    onUpdate: (a, b) => a.status?.hostName !== b.status?.hostName || a.status?.phase !== b.status?.phase || a.spec.vnics.length !== b.spec.vnics.length,
    delayMs: COUNTS_COALESCE_MS,
  });
  // Ready moves with compiles of the tenant and with what its hosts' agents report applied.
  ctx.feed.onCompiled((keys) => {
    for (const k of keys) if (k.startsWith('Tenant:')) c.enqueue(k.slice('Tenant:'.length));
  });
  const tenantsOn = (host: string) => {
    const names = new Set<string>();
    for (const k of world.vms.store.keysByIndex('host', host)) for (const t of byNs(k.split('/')[0])) names.add(t);
    return names;
  };
  ctx.feed.onAgentReport((host, from, to) => {
    for (const name of tenantsOn(host)) {
      const t = world.tenants.get(name);
      if (!t || ctx.feed.appliedMoved(host, from, to, inputKey('Tenant', t.metadata), t.metadata.generation)) c.enqueueAfter(name, COUNTS_COALESCE_MS);
    }
  });
  const everyTenantOn = (host: string) => tenantsOn(host).forEach((t) => c.enqueueAfter(t, COUNTS_COALESCE_MS));
  ctx.feed.tooLarge.onChange(everyTenantOn);
  ctx.feed.onAppliedReset((hosts) => hosts.forEach(everyTenantOn));
  c.watchMapped(world.namespaces, (ns) => byNs(ns.metadata.name), initial);
  c.watchMapped(world.roleBindings, (rb) => byNs(rb.metadata.namespace), initial);
  // Only how many policies a tenant has is reported: an update (every policy status write's echo,
  // 80,000 at vmworld) changes no count, so only adds and deletes count.
  c.watchMapped(world.policies, (p) => byNs(p.metadata.namespace), { ...initial, onUpdate: () => false });
  // A Tag's own status (its counts) changes with every VM: only its spec matters here.
  c.watchMapped(world.tags, (t) => world.tenants.store.keysByIndex('tag', t.metadata.name), { ...initial, onUpdate: specChanged });
  return c;
}
