// Staged SecurityPolicies (spec.enforcement: Staged): what enforcing each one would change, computed
// from the operator's own caches (the fleet as placed now) with the same analysis as `vmsafe diff`.
// The SecurityPolicy controller owns the status; this owns the computation: one policy at a time,
// coalesced, re-run when the policy or the fleet changes, never more often than `minIntervalMs`.
// The analysis compiles the whole fleet twice, so above `maxVnics` it is not run in the operator and
// the status says so (run `vmsafe diff` on the manifests instead).
import type { SecurityPolicy, StagedImpactStatus } from '../api';
import { formatRanges, fromRanges, stagedImpact, type Diff, type PairChange } from '../analyze';
import type { Clock } from '../runtime/clock';
import type { Logger } from '../util/log';
import { isEnforced } from '../policy/staged';
import { SYSTEM_NAMESPACE } from './names';
import type { World } from './world';

export interface StagedImpactOptions {
  /** Fleets with more vNICs than this get no in-operator impact (default 20,000). */
  maxVnics?: number;
  /** Least time between two computations (default 2 s): a busy fleet does not keep the operator analyzing. */
  minIntervalMs?: number;
}

export const DEFAULT_STAGED_IMPACT_MAX_VNICS = 20_000;
const LIST_MAX = 10;

interface Entry {
  generation: number | undefined;
  impact: StagedImpactStatus;
}

export class StagedImpacts {
  private readonly results = new Map<string, Entry>();
  /** Staged policies whose impact is missing or stale (the policy or the fleet changed since). */
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private lastRunAt = -Infinity;
  private stopped = false;
  private readonly maxVnics: number;
  private readonly minIntervalMs: number;

  constructor(
    private readonly world: World,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly onComputed: (key: string) => void,
    opts: StagedImpactOptions = {},
  ) {
    this.maxVnics = opts.maxVnics ?? DEFAULT_STAGED_IMPACT_MAX_VNICS;
    this.minIntervalMs = opts.minIntervalMs ?? 2_000;
  }

  /**
   * The impact of generation `generation` of a staged policy, or undefined while it is being computed.
   * A result for the same generation computed before the fleet last changed is still returned (it is
   * recomputed in the background and the controller is told when the new one is ready).
   */
  get(key: string, generation: number | undefined): StagedImpactStatus | undefined {
    const r = this.results.get(key);
    if (!r || r.generation !== generation) this.mark(key);
    return r && r.generation === generation ? r.impact : undefined;
  }

  /** The fleet changed: every staged policy's impact is stale. */
  fleetChanged(): void {
    for (const k of this.results.keys()) this.dirty.add(k);
    if (this.dirty.size > 0) this.schedule();
  }

  forget(key: string): void {
    this.results.delete(key);
    this.dirty.delete(key);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private mark(key: string): void {
    this.dirty.add(key);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    const wait = Math.max(0, this.lastRunAt + this.minIntervalMs - this.clock.now());
    this.timer = setTimeout(() => this.runOne(), wait);
    this.timer.unref?.();
  }

  private runOne(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const key = this.dirty.values().next().value as string | undefined;
    if (key === undefined) return;
    this.dirty.delete(key);
    const p = this.world.policies.get(key);
    if (!p || isEnforced(p)) {
      this.forget(key);
    } else {
      this.lastRunAt = this.clock.now();
      const t0 = performance.now();
      try {
        this.results.set(key, { generation: p.metadata.generation, impact: this.compute(p) });
        this.log.debug({ policy: key, ms: Math.round(performance.now() - t0) }, 'staged impact computed');
      } catch (err) {
        // An analysis that fails says so on the status; the policy stays staged either way.
        this.log.warn({ policy: key, err: (err as Error).message }, 'staged impact failed');
        this.results.set(key, { generation: p.metadata.generation, impact: { observedGeneration: p.metadata.generation, summary: `impact not computed: ${(err as Error).message}` } });
      }
      this.onComputed(key);
    }
    if (this.dirty.size > 0) this.schedule();
  }

  private compute(p: SecurityPolicy): StagedImpactStatus {
    const gen = p.metadata.generation;
    const vms = this.world.vms.list();
    const vnics = vms.reduce((n, vm) => n + vm.spec.vnics.length, 0);
    if (vnics > this.maxVnics)
      return { observedGeneration: gen, summary: `impact not computed: the fleet has ${vnics} vNICs, above the operator's --staged-impact-max-vnics (${this.maxVnics}); run vmsafe diff on the manifests` };
    const world = {
      tenants: this.world.tenants.list(),
      tags: this.world.tags.list(),
      hosts: this.world.hosts.list(),
      vms,
      policies: this.world.policies.list(),
      providerNamespace: SYSTEM_NAMESPACE,
    };
    return impactStatus(stagedImpact(world, { namespace: p.metadata.namespace ?? '', name: p.metadata.name }, { placed: true }), p, gen);
  }
}

const pairs = (list: PairChange[]) => list.map((c) => ({ from: c.from, to: c.to, ports: formatRanges(fromRanges(c.ports)) }));

/** The status form of a diff: counts in one line, the first pairs listed. Pure. */
export function impactStatus(d: Diff, p: SecurityPolicy, generation: number | undefined): StagedImpactStatus {
  const key = `${p.metadata.namespace ?? ''}/${p.metadata.name}`;
  const span = d.policiesChanged.find((c) => c.policy === key);
  const opened = [...d.opened, ...d.outsideOpened];
  const closed = [...d.closed, ...d.outsideClosed];
  const summary =
    `enforcing would open ${d.opened.length} tenant pair(s) and ${d.outsideOpened.length} from outside addresses, ` +
    `close ${d.closed.length} tenant pair(s) and ${d.outsideClosed.length} from outside addresses; ` +
    `${d.vmsChanged.length} VM(s) on ${d.hostsChanged} host(s) would get a new filter program`;
  return {
    observedGeneration: generation,
    summary,
    ...(opened.length ? { opened: pairs(opened.slice(0, LIST_MAX)) } : {}),
    ...(closed.length ? { closed: pairs(closed.slice(0, LIST_MAX)) } : {}),
    vnics: span?.vnicsAfter ?? 0,
    vmsChanged: d.vmsChanged.length,
    hostsChanged: d.hostsChanged,
  };
}
