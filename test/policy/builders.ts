// Fixture builders: complete objects (defaults filled in) without going through the API server.
import type { Host, PortSpec, Rule, SecurityPolicy, Tenant, VM, VMPhase } from '../../src/api';
import { API_VERSION, PROVIDER_NAMESPACE } from '../../src/api';

export function tenant(name: string, namespaces?: string[]): Tenant {
  return {
    apiVersion: API_VERSION,
    kind: 'Tenant',
    metadata: { name },
    spec: { ...(namespaces ? { namespaces } : {}), placementTags: [], admins: [] },
  };
}

export function host(name: string, tags: string[] = []): Host {
  return {
    apiVersion: API_VERSION,
    kind: 'Host',
    metadata: { name },
    spec: { tags, capacity: { vms: 320, vnics: 3200 }, networks: [{ name: 'prod', tags: [] }], unschedulable: false },
  };
}

let macCounter = 0;
const nextMac = () => {
  const n = macCounter++;
  return `02:00:00:${((n >> 16) & 255).toString(16).padStart(2, '0')}:${((n >> 8) & 255).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`;
};

/** `vm('web-1').inTenant('acme').withTags('web').onHost('h1').withIps('10.0.0.1').build()` */
export class VmBuilder {
  private ns = 'default';
  private tags: string[] = [];
  private labels: Record<string, string> = {};
  private hostName: string | undefined;
  private ips: string[] = [];
  private phase: VMPhase | undefined;
  constructor(private readonly name: string) {}
  inTenant(ns: string): this {
    this.ns = ns;
    return this;
  }
  withTags(...tags: string[]): this {
    this.tags.push(...tags);
    return this;
  }
  withLabels(labels: Record<string, string>): this {
    Object.assign(this.labels, labels);
    return this;
  }
  onHost(h: string): this {
    this.hostName = h;
    return this;
  }
  withIps(...ips: string[]): this {
    this.ips.push(...ips);
    return this;
  }
  quarantined(): this {
    this.phase = 'Quarantined';
    return this;
  }
  build(): VM {
    if (this.ips.length === 0) throw new Error(`vm ${this.name} needs an IP`);
    return {
      apiVersion: API_VERSION,
      kind: 'VM',
      metadata: { name: this.name, namespace: this.ns, labels: { ...this.labels } },
      spec: {
        tags: [...this.tags],
        ...(this.hostName ? { hostName: this.hostName } : {}),
        vnics: this.ips.map((ip, i) => ({ name: `eth${i}`, network: 'prod', ip, mac: nextMac() })),
        powerState: 'On',
      },
      ...(this.phase ? { status: { phase: this.phase } } : {}),
    };
  }
}
export const vm = (name: string) => new VmBuilder(name);

export interface PolicyOpts {
  tier?: 'Provider' | 'Tenant' | 'Baseline';
  priority?: number;
  enforcement?: 'Enforced' | 'Staged';
  appliesTo?: SecurityPolicy['spec']['appliesTo'];
  ingress?: RuleInput[];
  egress?: RuleInput[];
}
export type RuleInput = Omit<Partial<Rule>, 'ports'> & { name: string; action: Rule['action']; ports?: Partial<PortSpec>[] };

const fullRule = (r: RuleInput): Rule => ({
  name: r.name,
  action: r.action,
  peers: r.peers ?? [],
  ports: (r.ports ?? []).map((p) => ({ protocol: 'TCP', ...p }) as PortSpec),
});

export function policy(ns: string, name: string, o: PolicyOpts = {}): SecurityPolicy {
  return {
    apiVersion: API_VERSION,
    kind: 'SecurityPolicy',
    metadata: { name, namespace: ns },
    spec: {
      tier: o.tier ?? 'Tenant',
      priority: o.priority ?? 500,
      enforcement: o.enforcement ?? 'Enforced',
      appliesTo: o.appliesTo ?? {},
      ingress: (o.ingress ?? []).map(fullRule),
      egress: (o.egress ?? []).map(fullRule),
    },
  };
}
export const providerPolicy = (name: string, o: PolicyOpts = {}) => policy(PROVIDER_NAMESPACE, name, { tier: 'Provider', ...o });
export const baselinePolicy = (name: string, o: PolicyOpts = {}) => policy(PROVIDER_NAMESPACE, name, { tier: 'Baseline', ...o });
