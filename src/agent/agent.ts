// One hypervisor agent: watches only its own HostFilter (and the shared AddressGroups, whose members
// its classifier consults live), programs it (AgentCore), reports status on the HostFilter,
// heartbeats a Lease, audits for drift, retries failed applies with backoff.
import { randomUUID } from 'node:crypto';
import type { HostFilter } from '../api';
import { hostFilter as hostFilterSchema } from '../api';
import { decodeWith, type Decoded } from '../api/decode';
import { agentLeaseName, SYSTEM_NAMESPACE } from '../controllers/names';
import { buildClassifier } from '../dataplane/classifier';
import { kindResource, type KubeClient } from '../runtime/client';
import { realClock, type Clock, type TimerHandle } from '../runtime/clock';
import { toApiError } from '../runtime/errors';
import { startHeartbeat, type Heartbeat } from '../runtime/heartbeat';
import { Informer } from '../runtime/informer';
import { StatusWriter } from '../runtime/status';
import type { Logger } from '../util/log';
import { AgentCore } from './core';
import { NO_FAULTS, type AgentFaults } from './faults';
import { SharedGroupWatch } from './shared-groups';

export interface AgentOptions {
  client: KubeClient;
  host: string;
  logger: Logger;
  clock?: Clock;
  faults?: AgentFaults;
  /** Heartbeat renewal interval and lease duration. Defaults 2 s / 8 s. */
  heartbeatMs?: number;
  leaseDurationSeconds?: number;
  /** How often the programmed state is audited for drift. Default 1 s. */
  auditMs?: number;
  /** Shared status writer (a fleet shares one); created when omitted. */
  status?: StatusWriter;
  /** Watch over shared AddressGroups (a fleet shares one); created when omitted. */
  sharedGroups?: SharedGroupWatch;
}

/** How long an apply waits for the first list of AddressGroups before programming without it. */
const GROUPS_SYNC_MS = 30_000;

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;

export class HostAgent {
  readonly core: AgentCore;
  private readonly informer: Informer<HostFilter>;
  private readonly status: StatusWriter;
  private readonly groups: SharedGroupWatch;
  private readonly clock: Clock;
  private readonly log: Logger;
  private heartbeat: Heartbeat | undefined;
  private auditTimer: TimerHandle | undefined;
  private retryTimer: TimerHandle | undefined;
  private retries = 0;
  private running = false;
  /** Serializes applies: one at a time, the latest object wins. */
  private work: Promise<void> = Promise.resolve();
  private queued = false;
  /** This boot has reported itself (before its first apply, so a restart is visible at once). */
  private announced = false;
  readonly stats = { applies: 0, statusWrites: 0 };

  constructor(private readonly opts: AgentOptions) {
    this.clock = opts.clock ?? realClock;
    this.log = opts.logger.child({ agent: opts.host });
    this.groups = opts.sharedGroups ?? new SharedGroupWatch({ client: opts.client, logger: this.log, clock: this.clock });
    const sharedGroups = this.groups.sets;
    this.core = new AgentCore(opts.host, (spec) => buildClassifier(spec, { sharedGroups }), Math.random, () => new Date(this.clock.now()));
    this.core.faults = opts.faults ?? NO_FAULTS;
    this.status = opts.status ?? new StatusWriter(opts.client, { logger: this.log });
    // Raw objects: the filter is decoded (schema-checked) only when its spec hash asks for an apply.
    // Every write of the agent's own status comes back as an event too, and decoding a 200-800 KB
    // filter each time cost more than the apply in a 512-agent fleet.
    this.informer = new Informer<HostFilter>({
      client: opts.client,
      resource: kindResource('HostFilter'),
      fieldSelector: `metadata.name=${opts.host}`,
      logger: this.log,
      clock: this.clock,
      name: `hostfilter-${opts.host}`,
    });
    // Only a new spec asks for an apply. The echo of the agent's own status write is an update too:
    // kicking on it re-applied at once after every failed apply (a tight loop of applies and status
    // writes that bypassed the retry backoff). Retries come from scheduleRetry alone.
    this.informer.on({
      add: () => this.kick(),
      update: (a, b) => {
        if (a.spec?.hash !== b.spec?.hash) this.kick();
      },
    });
  }

  get host(): string {
    return this.opts.host;
  }

  start(): this {
    if (this.running) return this;
    this.running = true;
    this.core.bootId = randomUUID().slice(0, 8);
    this.announced = false;
    this.groups.acquire();
    this.informer.start();
    this.heartbeat = startHeartbeat({
      client: this.opts.client,
      hostName: agentLeaseName(this.opts.host),
      identity: this.opts.host,
      namespace: SYSTEM_NAMESPACE,
      intervalMs: this.opts.heartbeatMs ?? 2_000,
      leaseDurationSeconds: this.opts.leaseDurationSeconds ?? 8,
      clock: this.clock,
      logger: this.log,
    });
    const audit = () => {
      if (!this.running) return;
      if (this.core.auditDrift()) {
        this.log.warn('drift detected: programmed state differs from the applied filter; re-applying');
        this.kick();
      }
      this.auditTimer = this.clock.setTimeout(audit, this.opts.auditMs ?? 1_000);
    };
    // First audit at a random point of the interval: agents started together (a fleet, a rack after a
    // power cut) would otherwise all audit in the same instant, every interval.
    this.auditTimer = this.clock.setTimeout(audit, Math.random() * (this.opts.auditMs ?? 1_000));
    this.log.info('agent started');
    return this;
  }

  /** Stop cleanly (or abruptly for a simulated crash: state is lost either way, like a process exit). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.auditTimer) this.clock.clearTimeout(this.auditTimer);
    if (this.retryTimer) this.clock.clearTimeout(this.retryTimer);
    await Promise.all([this.informer.stop(), this.heartbeat?.stop(), this.groups.release()]);
    await this.work.catch(() => undefined);
    this.log.info('agent stopped');
  }

  setFaults(f: AgentFaults): void {
    const driftBump = f.drift !== this.core.faults.drift;
    this.core.faults = f;
    if (driftBump && f.drift > 0) this.core.injectDrift();
  }

  isRunning(): boolean {
    return this.running;
  }

  /** Something changed: (re)apply after the current apply, at most one pending. */
  private kick(): void {
    if (!this.running || this.queued) return;
    this.queued = true;
    this.work = this.work.then(async () => {
      this.queued = false;
      await this.applyOnce();
    });
  }

  private async applyOnce(): Promise<void> {
    if (!this.running) return;
    const hf = this.informer.get(this.opts.host);
    if (!hf) return;
    try {
      let announced: HostFilter | undefined;
      if (!this.announced && hf.status?.bootId !== this.core.bootId) {
        // A new process holds nothing: say so before programming (which may take a while), so the
        // operator stops counting on whatever the previous process reported applied.
        announced = await this.report(hf, true);
        this.announced = true;
      }
      if (this.core.needsApply(hf)) {
        const delay = this.core.faults.applyDelayMs;
        if (delay > 0) await new Promise<void>((r) => this.clock.setTimeout(r, delay));
        // Shared groups come from their own watch: program a filter that names them only once their
        // members are known, or its rules would briefly match nobody.
        if (!this.groups.hasSynced() && hf.spec.addressGroups?.some((g) => g.shared)) await this.groups.waitForSync(GROUPS_SYNC_MS);
        if (!this.running) return;
        const cached = this.informer.get(this.opts.host) ?? hf;
        // Until the echo of the announcement arrives, the cache's status predates it: a status diff
        // against it would miss fields the announcement cleared (appliedHash). Use what the write returned.
        const raw = announced && cached.metadata.resourceVersion === hf.metadata.resourceVersion ? announced : cached;
        const decoded = decodeWith(hostFilterSchema as never, raw) as Decoded<HostFilter>;
        if (!decoded.ok) {
          // Like an object the schema rejects in the cache: not applied, nothing reported.
          this.log.warn({ errors: decoded.errors.slice(0, 5) }, 'HostFilter failed schema validation; not applied');
          return;
        }
        const latest = decoded.value;
        const out = this.core.apply(latest);
        this.stats.applies++;
        if (out.ok) {
          this.retries = 0;
          this.log.debug({ hash: out.hash }, 'filter applied');
        } else {
          this.log.warn({ reason: out.reason, message: out.message }, 'apply failed; will retry');
          this.scheduleRetry();
        }
        await this.report(latest);
      } else {
        await this.report(hf);
      }
    } catch (err) {
      const e = toApiError(err);
      this.log.warn({ code: e.code, err: e.message }, 'status report failed; will retry');
      this.scheduleRetry();
    }
  }

  /**
   * Write the status for `hf`. With `needObject`, returns the object as the server has it now;
   * otherwise the server's reply (the whole filter, up to ~1 MB) is not parsed and `hf` is returned.
   */
  private async report(hf: HostFilter, needObject = false): Promise<HostFilter> {
    const r = await this.status.update('HostFilter', hf, this.core.desiredStatus(hf), { discardResponse: !needObject });
    if (r.written) this.stats.statusWrites++;
    return r.object;
  }

  private scheduleRetry(): void {
    if (this.retryTimer) this.clock.clearTimeout(this.retryTimer);
    const ms = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this.retries++);
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, ms);
  }
}
