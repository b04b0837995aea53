// SecurityPolicy controller: Accepted (tier/namespace/tenant rules), Realized (every host that must
// carry the policy reports a filter that has it), selected vNICs, and lint warnings.
import type { SecurityPolicy, Tenant } from '../api';
import { Inventory, policyRejection } from '../policy/inventory';
import { parseKey } from '../runtime/client';
import { Controller, type ReconcileContext } from '../runtime/controller';
import { REPORTING_WORKERS, type OperatorContext } from './context';
import { inputKey } from './compile-feed';
import { decidePolicyStatus } from './decide-counts';
import { SYSTEM_NAMESPACE } from './names';
import { reportInvalid } from './rejection';
import { StagedImpacts, type StagedImpactOptions } from './staged-impact';
import { isEnforced } from '../policy/staged';
import { describeRefusal, describeTooLarge } from './too-large';
import { ScopeLint } from './scope-lint';

const SPAN_COALESCE_MS = 200;

export function policyController(ctx: OperatorContext, opts: { stagedImpact?: StagedImpactOptions } = {}): Controller {
  const { world, feed } = ctx;
  // Set once the controller exists: a computed impact enqueues its policy.
  let enqueue: (key: string) => void = () => {};
  const impacts = new StagedImpacts(world, ctx.clock, ctx.log.child({ component: 'staged-impact' }), (k) => enqueue(k), opts.stagedImpact);
  /**
   * Lint warnings for one policy: shadowing can only come from policies of the same tier in the same
   * scope (the tenant's namespaces, or the provider namespace), so only those are linted together.
   */
  const scopes = new ScopeLint(SYSTEM_NAMESPACE);
  const lint = (p: SecurityPolicy, owner: Tenant | undefined, selectsNothing: boolean): string[] => {
    const provider = p.metadata.namespace === SYSTEM_NAMESPACE || !owner;
    const scope = provider ? [SYSTEM_NAMESPACE] : Inventory.namespacesOf(owner);
    // A generation refused for its size is compiled nowhere: it shadows nothing.
    const policies = scope.flatMap((ns) => world.policies.byIndex('namespace', ns)).filter((q) => feed.refusal(`${q.metadata.namespace}/${q.metadata.name}`)?.generation !== q.metadata.generation);
    const found = scopes.warnings(provider ? '' : owner.metadata.name, provider ? undefined : owner, policies);
    const out = [...(found.get(`${p.metadata.namespace}/${p.metadata.name}`) ?? [])];
    if (selectsNothing) out.push('spec.appliesTo: the policy selects no VM');
    return out;
  };
  /**
   * Host `h` enforces generation `gen` of the policy: its agent applied a filter compiled from that
   * generation or a later one (not merely "the filter it has is the newest": a compile that has not
   * run yet would make an old filter look current, and Realized would come before the change).
   */
  const realizedOn = (h: string, key: string, gen: number | undefined) =>
    feed.realizedOn(h, world.filters.get(h)?.status?.appliedHash, inputKey('SecurityPolicy', parseKey(key)), gen);

  const reconcile = async (key: string, rc: ReconcileContext) => {
    const p = world.policies.get(key);
    if (!p) {
      impacts.forget(key);
      const invalid = world.policies.getInvalid(key);
      if (invalid) await reportInvalid(ctx, invalid, rc);
      return;
    }
    const tenant = world.tenantOfNamespace(p.metadata.namespace);
    const rule = policyRejection(p, tenant?.metadata.name ?? null, SYSTEM_NAMESPACE);
    const gen = p.metadata.generation;
    const refusal = feed.refusal(key);
    const refused = !rule && refusal && refusal.generation === gen ? describeRefusal(refusal) : undefined;
    const rejection = rule ?? refused ?? null;
    const compiled = feed.compiledAt(inputKey('SecurityPolicy', p.metadata), gen) !== undefined;
    const span = rejection || !compiled ? { vms: 0, vnics: 0, hosts: new Set<string>() } : feed.compiler.policySpan(key);
    const hosts = [...span.hosts].sort();
    const notRealized = hosts.filter((h) => !realizedOn(h, key, gen));
    // A staged policy is out of the compiler: what it would select is in its impact, once computed.
    const staged = !rejection && !isEnforced(p) ? { impact: impacts.get(key, gen) } : undefined;
    const selectsNothing = staged ? staged.impact?.vnics === 0 : span.vms === 0;
    const tooLarge = notRealized.flatMap((h) => {
      const t = feed.tooLarge.get(h);
      return t ? [{ host: h, detail: describeTooLarge(t) }] : [];
    });
    const status = decidePolicyStatus(
      p,
      {
        rejection,
        ...(refused ? { rejectionReason: 'TooLarge' } : {}),
        compiled,
        vnics: span.vnics,
        hostsDesired: hosts.length,
        hostsRealized: hosts.length - notRealized.length,
        notRealized,
        tooLarge,
        warnings: rejection ? [] : lint(p, tenant, selectsNothing),
        staged,
      },
      new Date(ctx.clock.now()),
    );
    const before = p.status?.conditions?.find((c) => c.type === 'Accepted');
    await ctx.status.update('SecurityPolicy', p, status);
    if (rule && before?.status !== 'False') ctx.events.event(p, 'Warning', 'Rejected', rule);
    if (refused && !(before?.reason === 'TooLarge' && before.observedGeneration === gen)) ctx.events.event(p, 'Warning', 'TooLarge', refused);
  };

  const c = new Controller({ name: 'securitypolicy', reconcile, workers: REPORTING_WORKERS, logger: ctx.log, metrics: ctx.metrics, clock: ctx.clock });
  // The echo of our own status write changes nothing this reconcile reads.
  c.watchOwn(world.policies, { skipUpdate: (a, b) => ctx.status.isOwnEcho('SecurityPolicy', a, b) });
  enqueue = (k) => c.enqueue(k);
  c.onStop(() => impacts.stop());
  // Spans move with compiles (the compiler says whose); realization moves with agents' reports.
  const policiesOnHosts = (hosts: Iterable<string>) => {
    const keys = new Set<string>();
    for (const h of hosts) for (const k of feed.compiler.policiesOnHost(h)) keys.add(k);
    return keys;
  };
  // A new generation taken in by the compiler may change no filter at all: it is realized right away.
  feed.onCompiled((keys) => {
    for (const k of keys) if (k.startsWith('SecurityPolicy:')) c.enqueue(k.slice('SecurityPolicy:'.length));
    // Whatever the compiler took in may change what enforcing a staged policy would do.
    if (keys.length > 0) impacts.fleetChanged();
  });
  feed.onSpansChanged((keys) => {
    for (const k of keys) c.enqueueAfter(k, SPAN_COALESCE_MS);
  });
  feed.onAppliedReset((hosts) => {
    for (const k of policiesOnHosts(hosts)) c.enqueueAfter(k, SPAN_COALESCE_MS);
  });
  feed.onRefused((keys) => keys.forEach((k) => c.enqueue(k)));
  feed.tooLarge.onChange((h) => {
    for (const k of policiesOnHosts([h])) c.enqueue(k);
  });
  feed.onAgentReport((host, from, to) => {
    for (const k of policiesOnHosts([host])) {
      const p = world.policies.get(k);
      if (!p || feed.appliedMoved(host, from, to, inputKey('SecurityPolicy', p.metadata), p.metadata.generation)) c.enqueueAfter(k, SPAN_COALESCE_MS);
    }
  });
  // Acceptance depends on namespace ownership: only a tenant's namespaces matter, not its counters.
  const inNamespaces = (t: Tenant) => Inventory.namespacesOf(t).flatMap((ns) => world.policies.store.keysByIndex('namespace', ns));
  // Policies are listed by their own informer: the tenants' first list maps to nothing new.
  c.watchMapped(world.tenants, inNamespaces, {
    onUpdate: (a, b) => Inventory.namespacesOf(a).join() !== Inventory.namespacesOf(b).join(),
    skipInitialList: true,
  });
  return c;
}
