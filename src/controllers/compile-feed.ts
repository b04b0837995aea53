// Feeds informer events into the incremental policy compiler in batches and reports the hosts whose
// filter changed. Batching matters at scale: 40,000 VM events at cold start become a few hundred
// compiler runs, each touching only the hosts those VMs run on.
import type { Host, SecurityPolicy, Tag, Tenant, VM } from '../api';
import { keyOf } from '../runtime/client';
import { PolicyCompiler, type Change, type CompilerOptions } from '../policy/compile';
import { objectKey } from '../policy/inventory';
import type { Informer } from '../runtime/informer';
import { deepEqual, type Json } from '../runtime/jsondiff';
import { takeTurn } from '../runtime/turns';
import type { Logger } from '../util/log';
import { AppliedView } from './applied';
import { TooLargeFilters, type PolicyRefusal } from './too-large';
import { LruMap } from '../util/lru-map';
import type { World } from './world';
import { flatJoin } from '../util/flat-string';

type Compiled = Tenant | Tag | Host | VM | SecurityPolicy;

/**
 * Whether an update changes what the compiler reads: spec and labels of every kind, and for a VM where
 * it runs and whether it is quarantined. Status writes (every Tenant, Host, Tag and SecurityPolicy
 * controller write, 80,000 policy statuses at cold start) change none of it; feeding them anyway made
 * the compiler drop and rebuild the tenant's programs and the hosts' filters for each one.
 */
export function compileInputsChanged(kind: string, a: Compiled, b: Compiled): boolean {
  // A new generation with the same spec (an invalid edit reverted: the cache went from the last known
  // good straight to it) is still a generation the compiler must record as taken in.
  if (a.metadata.generation !== b.metadata.generation) return true;
  if (!deepEqual(a.spec as Json, b.spec as Json) || !deepEqual((a.metadata.labels ?? {}) as Json, (b.metadata.labels ?? {}) as Json)) return true;
  if (kind !== 'VM') return false;
  const sa = (a as VM).status;
  const sb = (b as VM).status;
  return sa?.hostName !== sb?.hostName || sa?.targetHostName !== sb?.targetHostName || sa?.phase !== sb?.phase;
}

export interface CompileStats {
  /** Updates not fed to the compiler because no compile input changed (status writes). */
  skipped: number;
  flushes: number;
  changes: number;
  hostUpdates: number;
  lastFlushMs: number;
  totalMs: number;
  /** Batches whose compile threw (each is requeued). */
  failures: number;
}

const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 30_000;
/**
 * Edited policies whose previous generation the feed remembers (the last known good to fall back on
 * if the edit is refused for its size). Only edits: a first generation's fallback is nothing.
 */
const PRIORS_KEPT = 4096;

/** What the compiler gets for a refused policy: the generation before it, or its removal when there is none. */
const fallbackChange = (p: SecurityPolicy, prior: SecurityPolicy | null): Change =>
  prior ? { op: 'upsert', object: prior } : { op: 'delete', kind: 'SecurityPolicy', name: p.metadata.name, namespace: p.metadata.namespace };

/** Batches at least this large compile in turns (a resync, a cold start); smaller ones at once. */
const IN_TURNS_MIN_CHANGES = 2000;

/** The key compiled generations are recorded under: "Kind:namespace/name" (or "Kind:name"). */
export const inputKey = (kind: string, ref: { name?: string; namespace?: string }): string =>
  ref.namespace ? flatJoin(kind, ':', ref.namespace, '/', ref.name ?? '') : flatJoin(kind, ':', ref.name ?? '');

export class CompileFeed {
  readonly compiler: PolicyCompiler;
  readonly applied = new AppliedView();
  /** Hosts whose compiled filter is over the request limit (set by the HostFilter controller). */
  readonly tooLarge = new TooLargeFilters();
  /**
   * Policy generations refused for making a host's filter too large ("namespace/name" → refusal): the
   * compiler holds the generation before instead (or nothing), until a new generation comes.
   */
  private readonly refused = new Map<string, PolicyRefusal & { prior: SecurityPolicy | null }>();
  /**
   * "namespace/name" → the policy the compiler held before its newest edit (see PRIORS_KEPT); null:
   * none (an edit of a refused first generation).
   */
  private readonly priors = new LruMap<string, SecurityPolicy | null>();
  private readonly refusedListeners: Array<(policies: string[]) => void> = [];
  readonly stats: CompileStats = { skipped: 0, flushes: 0, changes: 0, hostUpdates: 0, lastFlushMs: 0, totalMs: 0, failures: 0 };
  /** Test hook: the next `n` compiles throw (an injected compiler bug). */
  injectFailures = 0;
  private pending: Change[] = [];
  private scheduled = false;
  private readonly unsubscribe: Array<() => void> = [];
  /** Compiles done; the sequence number of the last one. */
  private seq = 0;
  /**
   * Per input object ("Kind:namespace/name"): its generation the compiler holds, and the compile that
   * took that generation in. Realization of generation N is measured from there (applied.includes).
   */
  private readonly compiled = new Map<string, Readonly<{ generation: number; seq: number }>>();
  private readonly compiledListeners: Array<(keys: string[]) => void> = [];
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly listeners: Array<(hosts: string[]) => void> = [];
  private readonly shardListeners: Array<(names: string[]) => void> = [];
  /**
   * Placements the VM controller decided and has not written yet (kube-scheduler's assumed pods): the
   * compiler binds these VMs at once, so a VM's status is written once, Running, when its host has
   * applied the filter, instead of Scheduled first and Running after (half the VM writes of a cold start).
   */
  private readonly assumed = new Map<string, { status: NonNullable<VM['status']>; at: number }>();
  private readonly assumedByHost = new Map<string, Set<string>>();

  constructor(
    private readonly world: World,
    private readonly log: Logger,
    opts: Pick<CompilerOptions, 'providerNamespace' | 'sharedGroupMinAddresses'> & {
      /** Batches this large or larger compile in turns of `sliceMs` (defaults IN_TURNS_MIN_CHANGES, 20 ms). */
      turns?: { minChanges?: number; sliceMs?: number };
    } = {},
  ) {
    this.compiler = new PolicyCompiler(opts);
    this.turns = { minChanges: opts.turns?.minChanges ?? IN_TURNS_MIN_CHANGES, sliceMs: opts.turns?.sliceMs ?? 20 };
  }
  private readonly turns: { minChanges: number; sliceMs: number };

  /** AddressGroup shards created, changed or gone, after each batch (before the hosts are told). */
  onShardsChanged(fn: (names: string[]) => void): void {
    this.shardListeners.push(fn);
  }

  /** Objects ("Kind:namespace/name") whose new generation a batch took in, after each batch. */
  onCompiled(fn: (keys: string[]) => void): void {
    this.compiledListeners.push(fn);
  }

  /** VMs ("namespace/name") whose address refusal (issue 12) changed, after each batch. */
  onRefusalsChanged(fn: (vms: string[]) => void): void {
    this.refusalListeners.push(fn);
  }
  private readonly refusalListeners: ((vms: string[]) => void)[] = [];

  /**
   * The compile that took in generation `generation` (or a later one) of an input, or undefined while
   * the compiler holds an older one (or none). `key` is "Kind:namespace/name" (see inputKey).
   */
  compiledAt(key: string, generation: number | undefined): number | undefined {
    const c = this.compiled.get(key);
    if (!c || (generation !== undefined && c.generation < generation)) return undefined;
    return c.seq;
  }

  /**
   * Realized: the filter `appliedHash` that `host`'s agent reports holds generation `generation` (or
   * later) of input `key`. False while that generation is not compiled.
   */
  realizedOn(host: string, appliedHash: string | undefined, key: string, generation: number | undefined): boolean {
    const at = this.compiledAt(key, generation);
    return at !== undefined && this.applied.includes(host, appliedHash, at);
  }

  /**
   * Whether an agent's report that `host` went from applied filter `from` to `to` can change what
   * input `key` (at `generation`) has realized there, or, given `vm`, the program that VM has there
   * (AppliedView.moved). When it cannot, a controller need not look at that object again for this
   * report: a vmworld host carries ~80 VMs, their tenants and ~150 policies, and each report used to
   * re-reconcile them all.
   */
  appliedMoved(host: string, from: string | undefined, to: string | undefined, key: string, generation: number | undefined, vm?: string): boolean {
    return this.applied.moved(host, from, to, this.compiledAt(key, generation), vm);
  }

  /** An agent reported another filter applied on `host` (`from` and `to`: the appliedHash before and after). */
  onAgentReport(fn: (host: string, from: string | undefined, to: string | undefined) => void): void {
    this.world.filters.on({
      update: (a, b) => {
        if (a.status?.appliedHash !== b.status?.appliedHash) fn(b.metadata.name, a.status?.appliedHash, b.status?.appliedHash);
      },
    });
  }

  /** Why the newest generation of a policy ("namespace/name") is refused, if it is. */
  refusal(key: string): PolicyRefusal | undefined {
    return this.refused.get(key);
  }

  /** Policies whose refusal began or ended (the SecurityPolicy controller reports them). */
  onRefused(fn: (policies: string[]) => void): void {
    this.refusedListeners.push(fn);
  }

  /**
   * Refuse the generation the compiler holds of each policy ("namespace/name"): it gets the one
   * before back (the last known good), or drops the policy if that generation was its first. A policy
   * whose one before is not known (edited before this operator started, or forgotten) is not refused.
   * Returns the policies refused; the compile that follows tells the hosts as usual.
   */
  refusePolicies(keys: string[], why: Omit<PolicyRefusal, 'generation' | 'enforced'>): string[] {
    const done: string[] = [];
    for (const key of keys) {
      const held = this.compiler.inventory.policyObjects.get(key);
      const generation = held?.metadata.generation;
      // Only the newest generation: one still on its way to the compiler would be compiled after the
      // fallback, and replace it.
      if (!held || generation === undefined || this.refused.has(key) || this.world.policies.get(key)?.metadata.generation !== generation) continue;
      const prior = generation === 1 ? null : this.priors.has(key) ? this.priors.get(key)! : undefined;
      if (prior === undefined) continue;
      this.priors.delete(key);
      this.refused.set(key, { ...why, generation, enforced: prior?.metadata.generation, prior });
      this.enqueue(fallbackChange(held, prior));
      done.push(key);
    }
    if (done.length) for (const fn of this.refusedListeners) fn(done);
    return done;
  }

  /**
   * A policy's upsert as the compiler should get it: its newest generation, unless that one is
   * refused (then the refusal's fallback). A new generation ends a refusal; an edit remembers the
   * generation it replaces.
   */
  private policyChange(p: SecurityPolicy): Change {
    const key = objectKey(p.metadata.namespace ?? '', p.metadata.name);
    const r = this.refused.get(key);
    if (r && r.generation === p.metadata.generation) {
      return fallbackChange(p, r.prior);
    }
    // What the compiler holds now is what this edit falls back to if refused in turn: after a refusal,
    // the refusal's fallback (nothing, for a refused first generation).
    const held = r ? r.prior : this.compiler.inventory.policyObjects.get(key);
    if (r) {
      this.refused.delete(key);
      for (const fn of this.refusedListeners) fn([key]);
    }
    if (held !== undefined && held?.metadata.generation !== p.metadata.generation) {
      this.priors.set(key, held);
      if (this.priors.size > PRIORS_KEPT) this.priors.deleteOldest();
    }
    return { op: 'upsert', object: p };
  }

  /** Hosts whose compiled spec changed, after each batch. */
  onHostsChanged(fn: (hosts: string[]) => void): void {
    this.listeners.push(fn);
  }

  /**
   * Hosts where what the agent's applied filter holds changed at a compile, not at a report, after
   * each batch: the host's content went back to the version its agent enforces (a VM assumed there
   * and gone again while the other version waited to be written, or the version the agent kept over
   * an operator restart), which from then on holds every compile since it was retired; or the host
   * is gone. Everything on such a host is reconciled again, as appliedMoved cannot tell what moved.
   */
  onAppliedReset(fn: (hosts: string[]) => void): void {
    this.resetListeners.push(fn);
  }
  private readonly resetListeners: Array<(hosts: string[]) => void> = [];

  /** Policies ("namespace/name") whose span (VMs, vNICs, hosts) moved, after each batch. */
  onSpansChanged(fn: (policies: string[]) => void): void {
    this.spanListeners.push(fn);
  }
  private readonly spanListeners: Array<(policies: string[]) => void> = [];

  start(): this {
    const w = this.world;
    this.feed('Tenant', w.tenants);
    this.feed('Tag', w.tags);
    this.feed('Host', w.hosts);
    this.feed('SecurityPolicy', w.policies);
    this.feed('VM', w.vms);
    // What the informers already hold (they may have synced before we subscribed).
    this.resync();
    return this;
  }

  /**
   * Re-feed every object the informers hold (the first compile after start): with nothing changed,
   * every host's spec keeps its content hash and nothing is written.
   */
  resync(): void {
    this.refeed(false);
  }

  /**
   * The periodic resync's re-feed: each object the informers hold whose compile inputs differ from
   * the version the compiler took in (an event some path missed), judged as an update is
   * (compileInputsChanged), as client-go's resync goes through the same predicates as updates. A full
   * re-feed is a compile of the world (seconds at vmworld) in one batch, and a change that arrives
   * meanwhile waits for the whole batch: a VM created during one waited 7.9 s for its filter.
   * Returns how many objects were re-fed.
   */
  resyncChanged(): number {
    return this.refeed(true);
  }

  private refeed(onlyChanged: boolean): number {
    const w = this.world;
    const inv = this.compiler.inventory;
    let fed = 0;
    const each = <T extends Compiled>(kind: string, inf: Informer<T>, held: (o: T) => Compiled | undefined) => {
      for (const object of inf.list()) {
        const now = kind === 'VM' ? this.withAssumption(object as VM) : object;
        const was = onlyChanged ? held(object) : undefined;
        if (was && !compileInputsChanged(kind, was, now)) continue;
        this.push({ op: 'upsert', object: now });
        fed++;
      }
    };
    const nsKey = (o: Compiled) => objectKey(o.metadata.namespace ?? '', o.metadata.name);
    each('Tenant', w.tenants, (t) => inv.tenants.get(t.metadata.name));
    each('Tag', w.tags, (t) => inv.tags.get(t.metadata.name));
    each('Host', w.hosts, (h) => inv.hosts.get(h.metadata.name));
    each('SecurityPolicy', w.policies, (p) => inv.policyObjects.get(nsKey(p)));
    each('VM', w.vms, (v) => inv.vmObjects.get(nsKey(v)));
    return fed;
  }

  stop(): void {
    for (const u of this.unsubscribe.splice(0)) u();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private feed(kind: Extract<Change, { op: "delete" }>["kind"], inf: Informer<any>): void {
    const vm = kind === 'VM';
    this.unsubscribe.push(
      inf.on({
        add: (object) => this.push({ op: 'upsert', object: vm ? this.withAssumption(object) : object }),
        update: (old, object) => {
          if (!compileInputsChanged(kind, old, object)) this.stats.skipped++;
          else if (!vm) this.push({ op: 'upsert', object });
          else this.pushVm(this.withAssumption(object));
        },
        delete: (o) => {
          if (vm) this.dropAssumption(keyOf(o));
          if (kind === 'SecurityPolicy') this.forgetPolicy(objectKey(o.metadata.namespace ?? '', o.metadata.name));
          this.push({ op: 'delete', kind, name: o.metadata.name, namespace: o.metadata.namespace });
        },
      }),
    );
  }

  /** A VM as the compiler should see it: with its assumed placement while its status has none. */
  withAssumption(vm: VM): VM {
    const a = this.assumed.size > 0 ? this.assumed.get(keyOf(vm)) : undefined;
    return a && !vm.status?.hostName ? { ...vm, status: a.status } : vm;
  }

  /** Bind `vm` where the VM controller decided, before its status says so. */
  assume(vm: VM, status: NonNullable<VM['status']>, now: number): void {
    const key = keyOf(vm);
    const prev = this.assumed.get(key);
    this.dropAssumption(key);
    this.assumed.set(key, { status, at: prev?.at ?? now });
    const host = status.hostName!;
    let set = this.assumedByHost.get(host);
    if (!set) this.assumedByHost.set(host, (set = new Set()));
    set.add(key);
    this.push({ op: 'upsert', object: { ...vm, status } });
  }

  /** The assumed placement of a VM and when it was first assumed. */
  assumption(key: string): { status: NonNullable<VM['status']>; at: number } | undefined {
    return this.assumed.get(key);
  }

  /** VMs assumed on a host. */
  assumedOn(host: string): Iterable<string> {
    return this.assumedByHost.get(host) ?? [];
  }

  assumedCount(): number {
    return this.assumed.size;
  }

  /**
   * The VM's status was written (`written`: the VM with that status): forget the assumption and give
   * the compiler what was written. Not the cached object: the write's echo may not be there yet, and
   * a VM without status would unbind it from its host's filter until the echo rebinds it (at 40,000
   * VMs that churn kept every host's filter changing for minutes).
   */
  settleAssumption(key: string, written: VM | undefined): void {
    if (!this.dropAssumption(key)) return;
    // The cache may hold a newer VM than the reconcile wrote from (labels edited meanwhile): that one,
    // with the written status while its echo has not come. The reconcile's copy would take the edit
    // back from the compiler until the next resync (the echo, if it came first, was pushed already).
    const cached = this.world.vms.get(key);
    const object =
      cached && written && cached.metadata.uid === written.metadata.uid && !cached.status?.hostName ? { ...cached, status: written.status } : cached ?? written;
    if (object) this.pushVm(object);
  }

  /**
   * A VM for the compiler, unless the version it was last handed (compiled or pending) has the same
   * compile inputs: a VM's status write is handed over at once (settleAssumption) and its watch echo
   * follows with the same host and phase. Each of those 40,000 echoes at a cold start cost an
   * inventory update and a rebuild of the host's spec, only to find the same hash.
   */
  private pushVm(vm: VM): void {
    const key = objectKey(vm.metadata.namespace ?? '', vm.metadata.name);
    const last = this.lastVm.get(key);
    if (last && last.metadata.uid === vm.metadata.uid && !compileInputsChanged('VM', last, vm)) {
      this.stats.skipped++;
      // The compiler keeps the cache's copy rather than the one built for the write (its own status
      // object, ~1 KB a VM at 40,000 VMs), as it did when the echo was compiled.
      this.compiler.inventory.adoptVmObject(vm, last);
      this.lastVm.set(key, vm);
      return;
    }
    this.push({ op: 'upsert', object: vm });
  }

  private dropAssumption(key: string): boolean {
    const a = this.assumed.get(key);
    if (!a) return false;
    this.assumed.delete(key);
    const set = this.assumedByHost.get(a.status.hostName!);
    if (set && set.delete(key) && set.size === 0) this.assumedByHost.delete(a.status.hostName!);
    return true;
  }

  /** The last version of each VM handed to the compiler (see pushVm). */
  private readonly lastVm = new Map<string, VM>();

  private forgetPolicy(key: string): void {
    this.priors.delete(key);
    if (this.refused.delete(key)) for (const fn of this.refusedListeners) fn([key]);
  }

  private push(ch: Change): void {
    if (ch.op === 'upsert' && ch.object.kind === 'SecurityPolicy') ch = this.policyChange(ch.object as SecurityPolicy);
    this.enqueue(ch);
  }

  /** Queue a change for the next compile, as given. */
  private enqueue(ch: Change): void {
    if (ch.op === 'upsert' && ch.object.kind === 'VM') this.lastVm.set(objectKey(ch.object.metadata.namespace ?? '', ch.object.metadata.name), ch.object as VM);
    else if (ch.op === 'delete' && ch.kind === 'VM') this.lastVm.delete(objectKey(ch.namespace ?? '', ch.name));
    this.pending.push(ch);
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate: let the informer deliver the rest of what arrived in this read first.
    setImmediate(() => this.scheduledFlush());
  }

  /**
   * A flush the feed scheduled itself: a large batch (a resync re-feeds every object: seconds of
   * compile at datacenter scale) takes turns with the event loop; a small one runs at once.
   */
  private scheduledFlush(): void {
    if (this.pending.length >= this.turns.minChanges) void this.flushInTurns(this.turns.sliceMs);
    else this.flush();
  }

  /** Compile what is pending now (also called by tests). */
  flush(): string[] {
    const steps = this.flushSteps();
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
    }
  }

  /**
   * `flush`, letting the event loop in whenever it has run for `sliceMs`: the first compile of a
   * datacenter is seconds of work, and probes, watches and timers must not wait for all of it.
   */
  async flushInTurns(sliceMs = 20): Promise<string[]> {
    const steps = this.flushSteps();
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
      await takeTurn(sliceMs);
    }
  }

  /** True while a flush is under way (between the turns of flushInTurns). */
  private compiling = false;
  /** A flush came while flushInTurns was between turns: it is owed once that one is done. */
  private deferred = false;

  private *flushSteps(): Generator<void, string[]> {
    if (this.compiling) {
      this.deferred = true;
      return [];
    }
    this.compiling = true;
    try {
      return yield* this.compilePending();
    } finally {
      this.compiling = false;
      if (this.deferred) {
        // The deferred flush left `scheduled` set with no flush coming, which would stop every later
        // push from compiling: schedule it for real, or clear the flag.
        this.deferred = false;
        this.scheduled = this.pending.length > 0;
        if (this.scheduled) setImmediate(() => this.scheduledFlush());
      }
    }
  }

  private *compilePending(): Generator<void, string[]> {
    this.scheduled = false;
    if (this.retryTimer) return []; // a failed batch waits for its backoff; what arrives joins it
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return [];
    const t0 = performance.now();
    let updates;
    try {
      if (this.injectFailures > 0) {
        this.injectFailures--;
        throw new Error('injected compile failure');
      }
      updates = yield* this.compiler.applySteps(batch);
    } catch (err) {
      // A compiler bug must not take the operator down, nor drop the batch: log loudly and retry it
      // (with whatever arrived meanwhile) after an exponential backoff. The compiler applies a batch
      // as upserts and deletes of whole objects, so replaying it is idempotent.
      this.failures++;
      const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (this.failures - 1));
      this.log.error({ err, changes: batch.length, retryInMs: delay }, 'compile failed; batch requeued');
      this.pending = batch.concat(this.pending);
      this.stats.failures++;
      if (!this.retryTimer) this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.flush();
      }, delay);
      return [];
    }
    this.failures = 0;
    const seq = ++this.seq;
    const took: string[] = [];
    // One record per generation in this compile, shared by the inputs that have it (immutable): a cold
    // start records 200,000 inputs in a few compiles, nearly all at generation 1.
    const records = new Map<number, { generation: number; seq: number }>();
    for (const ch of batch) {
      const key = ch.op === 'upsert' ? inputKey(ch.object.kind, ch.object.metadata) : inputKey(ch.kind, ch);
      if (ch.op === 'delete') {
        this.compiled.delete(key);
        continue;
      }
      const generation = ch.object.metadata.generation ?? 0;
      const prev = this.compiled.get(key);
      if (prev && prev.generation === generation) continue;
      let record = records.get(generation);
      if (!record) records.set(generation, (record = Object.freeze({ generation, seq })));
      this.compiled.set(key, record);
      took.push(key);
    }
    // Hosts whose agent's filter means something else now, with no report to say so (see onAppliedReset).
    const reset: string[] = [];
    for (const u of updates) {
      if (!u.spec) {
        this.applied.forget(u.host);
        reset.push(u.host);
        continue;
      }
      if (u.spec.hash === this.world.filters.get(u.host)?.status?.appliedHash) reset.push(u.host);
      this.applied.advance(u.host, u.spec.hash, seq);
      const programs = new Map<string, string>();
      for (const b of u.spec.bindings) if (!programs.has(b.vm)) programs.set(b.vm, this.compiler.boundProgramKeyOf(b.vm));
      this.applied.record(u.host, u.spec.hash, programs);
    }
    const ms = performance.now() - t0;
    this.stats.flushes++;
    this.stats.changes += batch.length;
    this.stats.hostUpdates += updates.length;
    this.stats.lastFlushMs = ms;
    this.stats.totalMs += ms;
    const hosts = updates.map((u) => u.host);
    if (hosts.length) this.log.debug({ changes: batch.length, hosts: hosts.length, ms: Math.round(ms) }, 'compiled');
    const shards = this.compiler.drainShardChanges();
    if (shards.length) for (const fn of this.shardListeners) fn(shards);
    for (const fn of this.listeners) fn(hosts);
    const spans = this.compiler.drainSpanChanges();
    if (spans.length) for (const fn of this.spanListeners) fn(spans);
    if (reset.length) for (const fn of this.resetListeners) fn(reset);
    if (took.length) for (const fn of this.compiledListeners) fn(took);
    const refusals = this.compiler.inventory.drainRefusalChanges();
    if (refusals.length) for (const fn of this.refusalListeners) fn(refusals);
    return hosts;
  }
}
