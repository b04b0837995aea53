// Feeds the dashboard model from the API server with the kubeconfig it was given (and only with it: a
// tenant admin's dashboard never borrows anyone else's token): one informer per kind (the project's
// runtime: list + watch with client-node, restarts after errors). What that user may not read (403) is
// recorded, not fatal: the views show what could be read and say what could not. Who the API server
// says we are (SelfSubjectReview, i.e. `kubectl auth whoami`) is what the page names.
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
  /** The user the API server authenticated (SelfSubjectReview); the kubeconfig's user name until known. */
  private user: string;

  constructor(private readonly opts: WatchOptions) {
    this.user = opts.client.kc.getCurrentUser()?.name ?? '';
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
    await this.whoami();
    const deadline = Date.now() + timeoutMs;
    for (const i of this.informers) {
      while (!i.hasSynced() && !i.lastError && Date.now() < deadline) await i.waitForSync(Math.min(200, Math.max(1, deadline - Date.now())));
    }
  }

  private async whoami(): Promise<void> {
    try {
      const r = await this.opts.client.request<{ status?: { userInfo?: { username?: string } } }>('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      });
      if (r.status?.userInfo?.username) this.user = r.status.userInfo.username;
    } catch (err) {
      // An API server without the review (before Kubernetes 1.28): keep the kubeconfig's user name.
      this.opts.logger.debug({ err }, 'SelfSubjectReview failed; naming the kubeconfig user');
    }
  }

  access(): Access {
    const denied = this.informers
      .filter((i) => !i.hasSynced() && i.lastError)
      .map((i) => ({ resource: i.name.replace(/^ui-/, ''), message: `${i.lastError!.code} ${i.lastError!.reason}: ${i.lastError!.message}` }));
    const access: Access = { user: this.user, denied, synced: this.informers.every((i) => i.hasSynced() || i.lastError) };
    if (this.opts.namespace) access.namespace = this.opts.namespace;
    return access;
  }

  /** Whether the list of this resource (plural: hosts, vms, tenants, tags, securitypolicies, events) was readable. */
  canRead(resource: string): boolean {
    const i = this.informers.find((x) => x.name === `ui-${resource}`);
    return !!i && (i.hasSynced() || !i.lastError);
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }
}

