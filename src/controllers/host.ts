// Host controller: Ready from the agent's heartbeat Lease, allocations from the scheduler's books,
// FilterConverged from what the agent reports on the host's HostFilter.
import { Controller, type ReconcileContext } from '../runtime/controller';
import type { OperatorContext } from './context';
import { decideHostStatus, renewedInTime } from './decide-host';
import { agentLeaseName, hostOfAgentLease, SYSTEM_NAMESPACE } from './names';
import { reportInvalid } from './rejection';
import { vmHosts } from './world';

/** Coalesce allocation changes (a burst of VMs landing) into one status write per host. */
const COUNTS_COALESCE_MS = 250;

export function hostController(ctx: OperatorContext): Controller {
  const { world, ledger } = ctx;
  const reconcile = async (name: string, rc: ReconcileContext) => {
    const host = world.hosts.get(name);
    if (!host) {
      const invalid = world.hosts.getInvalid(name);
      if (invalid) await reportInvalid(ctx, invalid, rc);
      return;
    }
    const d = decideHostStatus({
      host,
      lease: world.leases.get(`${SYSTEM_NAMESPACE}/${agentLeaseName(name)}`)?.spec,
      filter: world.filters.get(name),
      compiled: ctx.feed.compiler.spec(name),
      allocated: { ...ledger.allocOf(name) },
      tooLarge: ctx.feed.tooLarge.get(name),
      now: new Date(ctx.clock.now()),
    });
    await ctx.status.update('Host', host, d.status);
    const wasReady = host.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    if (wasReady !== d.ready)
      ctx.events.event(host, d.ready ? 'Normal' : 'Warning', d.ready ? 'AgentReady' : 'AgentLost',
        d.ready ? 'the host agent is heartbeating' : 'the host agent stopped heartbeating; nothing new is placed here');
    // Re-check when the heartbeat would expire, so Ready flips to False without any event.
    if (d.recheckAfterMs !== undefined) return { requeueAfter: d.recheckAfterMs + 50 };
  };
  const c = new Controller({ name: 'host', reconcile, workers: 2, logger: ctx.log, metrics: ctx.metrics, clock: ctx.clock });
  c.watchOwn(world.hosts);
  c.watchMapped(
    world.leases,
    (l) => {
      const h = hostOfAgentLease(l.metadata.name);
      return h ? [h] : [];
    },
    // A renewal before expiry is read by the recheck already scheduled (see renewedInTime).
    { onUpdate: (a, b) => !renewedInTime(a.spec, b.spec, ctx.clock.now()) },
  );
  c.watchMapped(world.filters, (f) => [f.metadata.name]);
  ctx.feed.tooLarge.onChange((h) => c.enqueue(h));
  // Hosts are listed by their own informer: the VMs' first list maps to nothing new.
  c.watchMapped(world.vms, vmHosts, {
    onUpdate: (a, b) => a.status?.hostName !== b.status?.hostName || a.status?.targetHostName !== b.status?.targetHostName || a.status?.phase !== b.status?.phase,
    delayMs: COUNTS_COALESCE_MS,
    skipInitialList: true,
  });
  return c;
}
