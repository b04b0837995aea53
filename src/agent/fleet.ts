// Many simulated agents in one process: one HostAgent per Host object, each with its own watch and
// heartbeat, as if each ran on its own hypervisor. Faults come from the Host annotation
// `sim.vmsafe.io/faults`, so a test (or a person) drives them with `kubectl annotate`.
import { host as hostSchema, type Host } from '../api';
import { kindResource, type KubeClient } from '../runtime/client';
import { realClock, type Clock } from '../runtime/clock';
import { EventRecorder } from '../runtime/events';
import { SYSTEM_NAMESPACE } from '../controllers/names';
import { Informer } from '../runtime/informer';
import { StatusWriter } from '../runtime/status';
import type { Logger } from '../util/log';
import { HostAgent, type AgentOptions } from './agent';
import { FAULTS_ANNOTATION, parseFaults, type AgentFaults } from './faults';
import { SharedGroupWatch } from './shared-groups';

export interface FleetOptions {
  client: KubeClient;
  logger: Logger;
  clock?: Clock;
  agent?: Pick<AgentOptions, 'heartbeatMs' | 'leaseDurationSeconds' | 'auditMs'>;
}

interface Slot {
  agent: HostAgent | undefined;
  faults: AgentFaults;
  restartTimer?: ReturnType<typeof setTimeout>;
}

export class AgentFleet {
  private readonly hosts: Informer<Host>;
  private readonly slots = new Map<string, Slot>();
  private readonly status: StatusWriter;
  /** The fleet's one watch over shared AddressGroups (each agent's classifier reads its sets). */
  readonly groups: SharedGroupWatch;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly events: EventRecorder;
  /** Host → the bad faults annotation already reported. */
  private readonly badFaults = new Map<string, string | undefined>();

  constructor(private readonly opts: FleetOptions) {
    this.log = opts.logger.child({ component: 'fleet' });
    this.clock = opts.clock ?? realClock;
    this.status = new StatusWriter(opts.client, { logger: this.log });
    this.events = new EventRecorder({ client: opts.client, component: 'vmsafe-agent', clusterNamespace: SYSTEM_NAMESPACE, logger: this.log, clock: this.clock });
    this.groups = new SharedGroupWatch({ client: opts.client, logger: this.log, clock: this.clock });
    this.hosts = new Informer<Host>({ client: opts.client, resource: kindResource('Host'), schema: hostSchema as never, logger: this.log, name: 'fleet-hosts' });
    this.hosts.on({ add: (h) => this.sync(h), update: (_a, h) => this.sync(h), delete: (h) => void this.remove(h.metadata.name) });
  }

  start(): this {
    this.hosts.start();
    return this;
  }

  agent(host: string): HostAgent | undefined {
    return this.slots.get(host)?.agent;
  }

  size(): number {
    return this.slots.size;
  }

  private newAgent(host: string, faults: AgentFaults): HostAgent {
    return new HostAgent({ ...this.opts.agent, client: this.opts.client, host, logger: this.opts.logger, clock: this.clock, faults, status: this.status, sharedGroups: this.groups }).start();
  }

  private sync(h: Host): void {
    const name = h.metadata.name;
    const { faults, error } = parseFaults(h.metadata.annotations?.[FAULTS_ANNOTATION]);
    const text = h.metadata.annotations?.[FAULTS_ANNOTATION];
    if (error && this.badFaults.get(name) !== text) {
      // Reported once per bad value, where the person who wrote it looks: an Event on the Host.
      this.log.warn({ host: name, error }, `ignoring bad ${FAULTS_ANNOTATION} annotation`);
      this.events.event(h, 'Warning', 'InvalidFaults', `${FAULTS_ANNOTATION} ignored (no faults injected): ${error}`);
    }
    if (error) this.badFaults.set(name, text);
    else this.badFaults.delete(name);
    let slot = this.slots.get(name);
    if (!slot) {
      slot = { agent: faults.stopped ? undefined : this.newAgent(name, faults), faults };
      this.slots.set(name, slot);
      return;
    }
    const prev = slot.faults;
    slot.faults = faults;
    if (faults.stopped) {
      if (slot.agent) void slot.agent.stop();
      slot.agent = undefined;
      return;
    }
    if (faults.crash !== prev.crash && faults.crash > 0 && slot.agent) {
      // Crash: the agent dies with its programmed state; a supervisor restarts it later.
      this.log.warn({ host: name, restartInMs: faults.restartDelayMs }, 'agent crashed (injected)');
      const dead = slot.agent;
      slot.agent = undefined;
      void dead.stop();
      slot.restartTimer = setTimeout(() => {
        const s = this.slots.get(name);
        if (s) s.restartTimer = undefined;
        if (s && !s.agent && !s.faults.stopped) s.agent = this.newAgent(name, s.faults);
      }, faults.restartDelayMs);
      return;
    }
    if (!slot.agent) {
      if (slot.restartTimer) return;
      slot.agent = this.newAgent(name, faults);
      return;
    }
    slot.agent.setFaults(faults);
  }

  private async remove(name: string): Promise<void> {
    const slot = this.slots.get(name);
    this.slots.delete(name);
    if (slot?.restartTimer) clearTimeout(slot.restartTimer);
    await slot?.agent?.stop();
  }

  async stop(): Promise<void> {
    await this.hosts.stop();
    await Promise.all([...this.slots.keys()].map((n) => this.remove(n)));
    await this.events.close();
  }
}
