// The safety invariant of DESIGN.md, checked continuously while a test runs: no VM is ever Running on
// a host whose *applied* filter does not bind it, or on a host that lacks its required tags.
// It watches VMs and HostFilters with its own informers and remembers every filter version it saw
// (by hash), so it can tell what an agent's appliedHash actually contained.
import type { Host, HostFilter, Tag, Tenant, VM } from '../../src/api';
import { kindResource, KubeClient } from '../../src/runtime/client';
import { Informer } from '../../src/runtime/informer';

export class InvariantChecker {
  readonly violations: string[] = [];
  checks = 0;
  private readonly client: KubeClient;
  private readonly vms: Informer<VM>;
  private readonly filters: Informer<HostFilter>;
  private readonly hosts: Informer<Host>;
  private readonly tenants: Informer<Tenant>;
  private readonly tags: Informer<Tag>;
  /** filter hash → "vm/vnic" keys it binds. */
  private readonly versions = new Map<string, Set<string>>();

  constructor(kubeconfigPath: string) {
    this.client = new KubeClient({ file: kubeconfigPath });
    const mk = <T extends object>(kind: string) => new Informer<T>({ client: this.client, resource: kindResource(kind) });
    this.vms = mk<VM>('VM');
    this.filters = mk<HostFilter>('HostFilter');
    this.hosts = mk<Host>('Host');
    this.tenants = mk<Tenant>('Tenant');
    this.tags = mk<Tag>('Tag');
    const remember = (f: HostFilter) => this.remember(f);
    this.filters.on({ add: remember, update: (_a, b) => remember(b) });
    this.vms.on({ add: (v) => this.check(v), update: (_a, v) => this.check(v) });
    // A host losing tags or a filter being re-applied re-checks the VMs Running there.
    this.filters.on({ update: (_a, f) => this.checkHost(f.metadata.name) });
    this.hosts.on({ update: (_a, h) => this.checkHost(h.metadata.name) });
  }

  async start(): Promise<void> {
    for (const i of [this.filters, this.hosts, this.tenants, this.tags, this.vms]) i.start();
    for (const i of [this.filters, this.hosts, this.tenants, this.tags, this.vms]) await i.waitForSync(10_000);
  }

  private checkHost(host: string) {
    for (const vm of this.vms.list()) if (vm.status?.phase === 'Running' && vm.status.hostName === host) this.check(vm);
  }

  private check(vm: VM): void {
    const s = vm.status;
    if (s?.phase !== 'Running' || !s.hostName) return;
    const key = `${vm.metadata.namespace}/${vm.metadata.name}`;
    if (this.inFlight.has(key)) {
      this.again.add(key);
      return;
    }
    this.inFlight.add(key);
    void this.verify(key, s.hostName)
      .catch((err) => this.violations.push(`checker error on ${key}: ${String(err)}`))
      .finally(() => {
        this.inFlight.delete(key);
        if (this.again.delete(key)) {
          const now = this.vms.get(key);
          if (now) this.check(now);
        }
      });
  }

  private readonly inFlight = new Set<string>();
  private readonly again = new Set<string>();

  /**
   * Linearizable check against the server, no guessing about cache lag: read the VM, its host and its
   * filter, then the VM again. If the VM did not change in between, it was Running on that host while
   * the host and filter were read, so the invariant must hold for what was read.
   */
  private async verify(key: string, hostName: string): Promise<void> {
    const vms = this.client.kind<VM>('VM');
    const before = await vms.tryGet(key);
    if (before?.status?.phase !== 'Running' || before.status.hostName !== hostName) return;
    const [host, filter] = await Promise.all([
      this.client.kind<Host>('Host').tryGet(hostName),
      this.client.kind<HostFilter>('HostFilter').tryGet(hostName),
    ]);
    const after = await vms.tryGet(key);
    if (after?.metadata.resourceVersion !== before.metadata.resourceVersion) return;
    this.checks++;
    const vm = before;
    if (!host) {
      this.violations.push(`${key} Running on ${hostName}, which does not exist`);
      return;
    }
    const applied = filter?.status?.appliedHash;
    if (filter) this.remember(filter);
    let bound = applied ? this.versions.get(applied) : undefined;
    // The applied version is older than the current spec: our filter watch has it, or soon will.
    for (let i = 0; applied && !bound && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 20));
      bound = this.versions.get(applied);
    }
    const missing = vm.spec.vnics.filter((n) => !bound?.has(`${key}/${n.name}`)).map((n) => n.name);
    if (missing.length)
      this.violations.push(`${key} Running on ${hostName} but applied filter ${applied ?? '(none)'} lacks vNICs ${missing.join(',')}`);
    const tenant = this.tenants.get(vm.status?.tenant ?? '');
    const required = [
      ...(tenant?.spec.placementTags ?? []),
      ...vm.spec.tags.filter((t) => (this.tags.get(t)?.spec.enforcement ?? 'Required') === 'Required'),
    ];
    const lacking = required.filter((t) => !host.spec.tags.includes(t));
    if (lacking.length) this.violations.push(`${key} Running on ${hostName} which lacks required tags ${lacking.join(',')}`);
  }

  private remember(f: HostFilter): void {
    if (!this.versions.has(f.spec.hash)) this.versions.set(f.spec.hash, new Set(f.spec.bindings.map((b) => `${b.vm}/${b.vnic}`)));
  }

  async stop(): Promise<void> {
    await Promise.all([this.filters, this.hosts, this.tenants, this.tags, this.vms].map((i) => i.stop()));
    this.client.close();
  }
}
