// Feeds the dashboard model from the API server with the kubeconfig it was given: one informer per kind
// (the project's runtime: list + watch with client-node, restarts after errors). What that user may not
// read (403) is recorded, not fatal: the views show what could be read and say what could not.
import type { z } from 'zod';
import { host, securityPolicy, tag, tenant, vm, type Host, type SecurityPolicy, type Tag, type Tenant, type VM } from '../api';
import { EVENTS, kindResource, type KubeClient, type KubeObject, type ResourceInfo } from '../runtime/client';
import { Informer } from '../runtime/informer';
import type { Logger } from '../util/log';
import { FleetModel } from './model';
import type { Access } from './page/types';

interface CoreEvent extends KubeObject {
  involvedObject?: { kind?: string; namespace?: string; name?: string };
  type?: string;
  reason?: string;
  message?: string;
  lastTimestamp?: string;
  eventTime?: string;
  metadata: KubeObject['metadata'] & { creationTimestamp?: string };
}

export interface WatchOptions {
  client: KubeClient;
  logger: Logger;
  /** Watch namespaced kinds (VMs, policies, events) in this namespace only: a tenant admin's view. */
  namespace?: string;
}

export class FleetWatch {
  readonly model = new FleetModel();
  /** Bumped on every change to what a trace depends on. */
  version = 0;
  private readonly informers: Informer<any>[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(private readonly opts: WatchOptions) {
    const m = this.model;
    const changed = () => {
      this.version++;
      for (const l of this.listeners) l();
    };
    this.watch<Host>('Host', host, (h) => m.setHost(h), (h) => m.deleteHost(h.metadata.name), changed);
    this.watch<VM>('VM', vm, (v) => m.setVm(v), (v) => m.deleteVm(`${v.metadata.namespace ?? ''}/${v.metadata.name}`), changed);
    this.watch<Tenant>('Tenant', tenant, (t) => m.setTenant(t), (t) => m.deleteTenant(t.metadata.name), changed);
    this.watch<Tag>('Tag', tag, (t) => m.setTag(t), (t) => m.deleteTag(t.metadata.name), changed);
    this.watch<SecurityPolicy>('SecurityPolicy', securityPolicy, (p) => m.setPolicy(p), (p) => m.deletePolicy(`${p.metadata.namespace ?? ''}/${p.metadata.name}`), changed);
    // Events: only what the host view shows; not part of the trace's inputs.
    const ev = new Informer<CoreEvent>({ client: opts.client, resource: EVENTS, namespace: opts.namespace, logger: opts.logger, name: 'ui-events' });
    ev.on({
      add: (e) => this.onEvent(e),
      update: (_o, e) => this.onEvent(e),
    });
    this.informers.push(ev);
  }

  private watch<T extends KubeObject>(kind: string, schema: z.ZodType<T>, set: (o: T) => void, del: (o: T) => void, changed: () => void): void {
    const resource: ResourceInfo = kindResource(kind);
    const inf = new Informer<T>({
      client: this.opts.client,
      resource,
      schema,
      namespace: resource.namespaced ? this.opts.namespace : undefined,
      logger: this.opts.logger,
      name: `ui-${resource.plural}`,
    });
    inf.on({
      add: (o) => (set(o), changed()),
      update: (_old, o) => (set(o), changed()),
      delete: (o) => (del(o), changed()),
    });
    this.informers.push(inf);
  }

  private onEvent(e: CoreEvent): void {
    const o = e.involvedObject;
    if (o?.kind !== 'Host' || !o.name) return;
    this.model.addEvent(`Host//${o.name}`, {
      type: e.type ?? 'Normal',
      reason: e.reason ?? '',
      message: e.message ?? '',
      time: e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? '',
    });
    for (const l of this.listeners) l();
  }

  /** Called after every change (many per burst: the caller coalesces). */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Start every informer; resolve once each has listed or failed, or after `timeoutMs`. */
  async start(timeoutMs = 15_000): Promise<void> {
    for (const i of this.informers) i.start();
    const deadline = Date.now() + timeoutMs;
    for (const i of this.informers) {
      while (!i.hasSynced() && !i.lastError && Date.now() < deadline) await i.waitForSync(Math.min(200, Math.max(1, deadline - Date.now())));
    }
  }

  access(): Access {
    const denied = this.informers
      .filter((i) => !i.hasSynced() && i.lastError)
      .map((i) => ({ resource: i.name.replace(/^ui-/, ''), message: `${i.lastError!.code} ${i.lastError!.reason}: ${i.lastError!.message}` }));
    const user = this.opts.client.kc.getCurrentUser()?.name ?? '';
    return { user, denied, synced: this.informers.every((i) => i.hasSynced() || i.lastError) };
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }
}

