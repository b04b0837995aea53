// examples/ teaches the API in its comments; this holds the comments to the normative semantics
// (the reference evaluator), so a change to either that breaks a lesson fails here.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadManifests } from '../../src/manifests/load';
import { placeOffline } from '../../src/policy/offline';
import { ReferenceEvaluator, type Endpoint } from '../../src/policy/reference';
import { buildModel, validateObjects } from '../../src/validate';

const EXAMPLES = join(__dirname, '..', '..', 'examples');
let evaluator: ReferenceEvaluator;
let unplaced: Map<string, string>;
let findings: ReturnType<typeof validateObjects>;

beforeAll(async () => {
  const loaded = await loadManifests([EXAMPLES]);
  expect(loaded.errors).toEqual([]);
  findings = validateObjects(loaded.objects);
  const { model } = buildModel(loaded.objects);
  const world = {
    tenants: [...model.tenants.values()].map((e) => e.value),
    tags: [...model.tags.values()].map((e) => e.value),
    hosts: [...model.hosts.values()].map((e) => e.value),
    vms: model.vms.map((e) => e.value),
    policies: model.policies.map((e) => e.value),
  };
  const placement = placeOffline(world);
  unplaced = placement.unplaced;
  evaluator = new ReferenceEvaluator({ ...world, vms: placement.vms });
});

const ep = (s: string): Endpoint => (s.includes('/') ? { vm: s } : { ip: s });
/** "Allow" or "Deny", then the deciding side as "tier policy rule". */
type Flow = [from: string, to: string, proto: 'TCP' | 'UDP', port: number, verdict: 'Allow' | 'Deny', decidedBy: string];

const FLOWS: Flow[] = [
  // Cross-tenant: acme's app tier may call globex's payments API, and globex allows acme in.
  ['acme/app-1', 'globex-prod/api-1', 'TCP', 443, 'Allow', 'ingress Tenant globex-prod/api-ingress partners'],
  // ...but acme's web tier may not: tenants are cut off from each other by default.
  ['acme/web-1', 'globex-prod/api-1', 'TCP', 443, 'Deny', 'egress Default - default-deny'],
  // web -> app -> db inside acme; the db accepts only the app tier.
  ['acme/web-1', 'acme/app-1', 'TCP', 8080, 'Allow', 'ingress Tenant acme/app-tier api-from-web'],
  ['acme/web-1', 'acme/db-1', 'TCP', 5432, 'Deny', 'ingress Tenant - tenant-isolation'],
  ['acme/app-1', 'acme/db-1', 'TCP', 5432, 'Allow', 'ingress Tenant acme/db-from-app postgres'],
  // Egress isolation: app-1 has egress rules, so only what they list leaves; Pass hands DNS to Baseline.
  ['acme/app-1', '10.99.0.53', 'UDP', 53, 'Allow', 'egress Baseline vmsafe-system/baseline dns'],
  ['acme/app-1', '8.8.8.8', 'UDP', 53, 'Deny', 'egress Tenant - tenant-isolation'],
  // Provider guardrails beat any tenant policy.
  ['acme/web-1', '203.0.113.5', 'TCP', 443, 'Deny', 'egress Provider vmsafe-system/deny-known-bad threat-feed-out'],
  ['198.51.100.9', 'acme/web-1', 'TCP', 443, 'Deny', 'ingress Provider vmsafe-system/deny-known-bad threat-feed-in'],
  ['198.51.100.200', 'acme/web-1', 'TCP', 443, 'Allow', 'ingress Tenant acme/web-from-internet https'],
  // The PCI guardrail: the NOC may scrape, the PCI zone is passed to the tenant, the rest is denied.
  ['192.168.100.7', 'globex-prod/ledger-db', 'TCP', 9100, 'Allow', 'ingress Provider vmsafe-system/pci-guardrail noc-monitoring'],
  ['globex-prod/api-1', 'globex-prod/ledger-db', 'TCP', 5432, 'Allow', 'ingress Tenant globex-prod/ledger-from-api postgres'],
  ['acme/app-1', 'globex-prod/ledger-db', 'TCP', 5432, 'Deny', 'ingress Provider vmsafe-system/pci-guardrail outside-pci-zone'],
  // Baseline applies only where the tenant said nothing: build-1 is not selected, web VMs are.
  ['192.168.100.7', 'initech/build-1', 'TCP', 9100, 'Allow', 'ingress Baseline vmsafe-system/baseline noc-monitoring'],
  ['192.168.100.7', 'acme/web-2', 'TCP', 9100, 'Deny', 'ingress Tenant - tenant-isolation'],
  ['initech/build-1', '1.2.3.4', 'TCP', 25, 'Deny', 'egress Baseline vmsafe-system/baseline no-smtp'],
  // sameTenant and port ranges.
  ['initech/tps-db', 'initech/intranet', 'TCP', 8080, 'Allow', 'ingress Tenant initech/intranet staff'],
  ['initech/tps-db', 'initech/intranet', 'TCP', 9000, 'Deny', 'ingress Tenant - tenant-isolation'],
];

describe('examples/', () => {
  it('validate clean and every powered-on VM is placeable', () => {
    expect(findings).toEqual([]);
    expect([...unplaced.entries()]).toEqual([['globex-dev/api-dev', expect.stringContaining('powered off')]]);
  });

  it.each(FLOWS)('%s -> %s %s/%i: %s (%s)', (from, to, protocol, port, verdict, decidedBy) => {
    const v = evaluator.evaluate({ from: ep(from), to: ep(to), protocol, port });
    expect(v.verdict).toBe(verdict);
    const [side] = decidedBy.split(' ') as ['egress' | 'ingress'];
    const d = v[side]!;
    expect(`${side} ${d.tier} ${d.policy ?? '-'} ${d.rule}`).toBe(decidedBy);
  });
});
