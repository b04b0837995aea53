import { describe, expect, it } from 'vitest';
import { lintPolicies, policyWarnings } from '../../src/policy/lint';
import { policy, providerPolicy, tenant, vm } from './builders';

const tenants = [tenant('acme')];
const lint = (...policies: ReturnType<typeof policy>[]) => lintPolicies({ tenants, policies });

describe('shadowed rules', () => {
  it('a rule covered by an earlier rule of the same policy', () => {
    const p = policy('acme', 'p', {
      ingress: [
        { name: 'web-range', action: 'Allow', peers: [{ cidr: { cidr: '10.0.0.0/8' } }], ports: [{ protocol: 'TCP', port: 80, endPort: 90 }] },
        { name: 'web', action: 'Deny', peers: [{ cidr: { cidr: '10.1.0.0/16' } }], ports: [{ protocol: 'TCP', port: 85 }] },
        { name: 'udp', action: 'Deny', peers: [{ cidr: { cidr: '10.1.0.0/16' } }], ports: [{ protocol: 'UDP', port: 85 }] },
      ],
    });
    expect(lint(p)).toEqual([
      {
        policy: 'acme/p',
        path: 'spec.ingress[1]',
        message: 'ingress rule "web" can never match: rule "web-range" earlier in this policy matches every packet it would',
      },
    ]);
  });

  it('respects except: a hole in the earlier CIDR means no shadow', () => {
    const p = policy('acme', 'p', {
      egress: [
        { name: 'wide', action: 'Allow', peers: [{ cidr: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }] },
        { name: 'inside-hole', action: 'Deny', peers: [{ cidr: { cidr: '10.1.2.0/24' } }] },
        { name: 'hole-excluded', action: 'Deny', peers: [{ cidr: { cidr: '10.1.0.0/16', except: ['10.1.0.0/16'] } }, { cidr: { cidr: '10.2.0.0/16' } }] },
      ],
    });
    expect(lint(p).map((f) => f.path)).toEqual(['spec.egress[2]']);
  });

  it('VM peers: fewer constraints cover more', () => {
    const p = policy('acme', 'p', {
      ingress: [
        { name: 'web', action: 'Allow', peers: [{ vms: { tags: ['web'] } }] },
        { name: 'web-prod', action: 'Deny', peers: [{ vms: { tags: ['web', 'prod'], vmSelector: { matchLabels: { a: 'b' } } } }], ports: [{ protocol: 'TCP', port: 1 }] },
        { name: 'other-tenant-web', action: 'Deny', peers: [{ vms: { tags: ['web'], tenants: ['globex'] } }] },
        { name: 'any', action: 'Deny' },
      ],
    });
    expect(lint(p).map((f) => f.path)).toEqual(['spec.ingress[1]']);
  });

  it('across policies of a tier when the earlier one applies to every VM the later one does', () => {
    const first = providerPolicy('a-first', { priority: 1, ingress: [{ name: 'block-telnet', action: 'Deny', ports: [{ protocol: 'TCP', port: 23 }] }] });
    const later = providerPolicy('b-later', { priority: 2, appliesTo: { tags: ['web'] }, ingress: [{ name: 'allow-telnet', action: 'Allow', ports: [{ protocol: 'TCP', port: 23 }] }] });
    const narrower = providerPolicy('c-narrow', { priority: 0, appliesTo: { tags: ['db'] }, ingress: [{ name: 'x', action: 'Deny', ports: [{ protocol: 'TCP', port: 23 }] }] });
    const f = lint(first, later, narrower);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ policy: 'vmsafe-system/b-later', path: 'spec.ingress[0]' });
    expect(f[0]!.message).toContain('Provider policy vmsafe-system/a-first');
  });

  it('no ports = every protocol, which a TCP-only rule does not cover', () => {
    const p = policy('acme', 'p', {
      ingress: [
        { name: 'tcp', action: 'Allow', ports: [{ protocol: 'TCP' }] },
        { name: 'all', action: 'Deny' },
        { name: 'tcp-80', action: 'Deny', ports: [{ protocol: 'TCP', port: 80 }] },
      ],
    });
    expect(lint(p).map((f) => f.path)).toEqual(['spec.ingress[2]']);
  });
});

describe('policies selecting nothing', () => {
  it('are reported when VMs are known', () => {
    const vms = [vm('w').inTenant('acme').withTags('web').withIps('10.0.0.1').build()];
    const web = policy('acme', 'web', { appliesTo: { tags: ['web'] } });
    const db = policy('acme', 'db', { appliesTo: { tags: ['db'] } });
    const f = lintPolicies({ tenants, policies: [web, db], vms });
    expect(f).toEqual([{ policy: 'acme/db', path: 'spec.appliesTo', message: 'the policy selects no VM' }]);
    expect(policyWarnings(f).get('acme/db')).toEqual(['spec.appliesTo: the policy selects no VM']);
  });
});

describe('policies selecting nothing, against the reference semantics', () => {
  it('agrees on label keys named like Object members: the reference read `constructor in labels` as true for every VM', async () => {
    const { ReferenceEvaluator } = await import('../../src/policy/reference');
    const vms = [vm('plain').inTenant('acme').withIps('10.0.0.1').build(), vm('labelled').inTenant('acme').withLabels({ toString: 'x' }).withIps('10.0.0.2').build()];
    const selecting = (key: string, operator: 'Exists' | 'DoesNotExist') => policy('acme', `${operator}-${key}`.toLowerCase(), { appliesTo: { vmSelector: { matchExpressions: [{ key, operator }] } } });
    const policies = [selecting('constructor', 'Exists'), selecting('valueOf', 'DoesNotExist'), selecting('toString', 'Exists')];
    const ref = new ReferenceEvaluator({ tenants, vms, policies });
    expect(policies.map((p) => vms.filter((v) => ref.appliesTo(p, v)).map((v) => v.metadata.name))).toEqual([[], ['plain', 'labelled'], ['labelled']]);
    expect(lintPolicies({ tenants, policies, vms }).filter((f) => f.path === 'spec.appliesTo').map((f) => f.policy)).toEqual(['acme/exists-constructor']);
  });

  it('reports exactly the accepted policies that apply to none of the VMs', async () => {
    const fc = (await import('fast-check')).default;
    const { caseArb } = await import('./arbitraries');
    const { ReferenceEvaluator } = await import('../../src/policy/reference');
    let reported = 0;
    let selecting = 0;
    fc.assert(
      fc.property(caseArb, ({ world }) => {
        const ref = new ReferenceEvaluator(world);
        const want = world.policies
          .filter((p) => ref.rejection(p) === null && !world.vms.some((vm) => ref.appliesTo(p, vm)))
          .map((p) => `${p.metadata.namespace}/${p.metadata.name}`)
          .sort();
        const got = lintPolicies({ tenants: world.tenants, policies: world.policies, vms: world.vms })
          .filter((f) => f.path === 'spec.appliesTo')
          .map((f) => f.policy)
          .sort();
        expect(got).toEqual(want);
        reported += got.length;
        selecting += world.policies.length - got.length;
      }),
      { numRuns: 300 },
    );
    // Both answers occur, so the comparison is not trivially all-or-nothing.
    expect(reported).toBeGreaterThan(0);
    expect(selecting).toBeGreaterThan(0);
  });
});

describe('soundness', () => {
  it('a rule reported as shadowed never decides a packet', async () => {
    const fc = (await import('fast-check')).default;
    const { caseArb } = await import('./arbitraries');
    const { ReferenceEvaluator } = await import('../../src/policy/reference');
    let reported = 0;
    fc.assert(
      fc.property(caseArb, ({ world, packets }) => {
        const findings = lintPolicies({ tenants: world.tenants, policies: world.policies });
        if (findings.length === 0) return;
        reported += findings.length;
        const shadowed = new Set(
          findings.map((f) => {
            const [, dir, idx] = /spec\.(\w+)\[(\d+)\]/.exec(f.path)!;
            const p = world.policies.find((x) => `${x.metadata.namespace}/${x.metadata.name}` === f.policy)!;
            return `${f.policy}#${p.spec[dir as 'ingress' | 'egress'][Number(idx)]!.name}`;
          }),
        );
        const ref = new ReferenceEvaluator(world);
        for (const pkt of packets) {
          const v = ref.evaluate(pkt);
          for (const d of [v.egress, v.ingress]) if (d?.policy) expect(shadowed.has(`${d.policy}#${d.rule}`)).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
    expect(reported).toBeGreaterThan(0);
  });
});
