import { afterEach, describe, expect, it } from 'vitest';
import { parseManifests } from '../../src/manifests/load';
import { exitCodeFor, findingAt, formatFinding, registerLinter, validateObjects, type Linter } from '../../src/validate';

// A small clean world the bad inputs are checked against (file "world.yaml").
const WORLD = `apiVersion: vmsafe.io/v1alpha1
kind: Tag
metadata: {name: gold}
spec: {enforcement: Required}
---
apiVersion: vmsafe.io/v1alpha1
kind: Tag
metadata: {name: web}
spec: {enforcement: Preferred}
---
apiVersion: vmsafe.io/v1alpha1
kind: Tenant
metadata: {name: acme}
spec: {placementTags: [gold], quota: {vms: 3}}
---
apiVersion: vmsafe.io/v1alpha1
kind: Tenant
metadata: {name: globex}
spec: {namespaces: [globex-prod]}
---
apiVersion: vmsafe.io/v1alpha1
kind: Host
metadata: {name: h1}
spec:
  tags: [gold]
  networks:
    - {name: prod, vlan: 100, tags: [gold]}
---
apiVersion: vmsafe.io/v1alpha1
kind: Host
metadata: {name: h2}
spec:
  networks:
    - {name: plain}
---
apiVersion: vmsafe.io/v1alpha1
kind: VM
metadata: {name: web-0, namespace: acme}
spec:
  tags: [web]
  vnics:
    - {name: eth0, network: prod, ip: 10.0.0.10, mac: "aa:bb:cc:00:00:10"}
`;

const world = () => parseManifests(WORLD, 'world.yaml').objects;

function check(bad: string, linters: Linter[] = []): { lines: string[]; exit: 0 | 1 } {
  const parsed = parseManifests(bad, 'bad.yaml');
  expect(parsed.errors).toEqual([]);
  const findings = validateObjects([...world(), ...parsed.objects], { linters });
  return { lines: findings.map(formatFinding), exit: exitCodeFor(findings) };
}
const lint = (bad: string, linters: Linter[] = []) => check(bad, linters).lines;

const VM_HEAD = `apiVersion: vmsafe.io/v1alpha1
kind: VM
metadata: {name: web-1, namespace: acme}
spec:
`;
// A VM in tenant acme; `vnics` (and anything else) start at line 5.
const vm = (rest: string) => VM_HEAD + rest;
const NIC = '  vnics:\n    - {name: eth0, network: prod, ip: 10.0.0.11, mac: "aa:bb:cc:00:00:11"}\n';

const POLICY_HEAD = (ns: string) => `apiVersion: vmsafe.io/v1alpha1
kind: SecurityPolicy
metadata: {name: p, namespace: ${ns}}
spec:
`;
const policy = (ns: string, rest: string) => POLICY_HEAD(ns) + rest;

type Case = [name: string, yaml: string, expected: string[]];

const SCHEMA_CASES: Case[] = [
  ['an invalid IPv4 address', vm('  vnics:\n    - name: eth0\n      network: prod\n      ip: 10.0.0.300\n      mac: "aa:bb:cc:00:00:11"\n'),
    ['bad.yaml:8 VM acme/web-1 spec.vnics[0].ip: "10.0.0.300" is not an IPv4 address']],
  ['an invalid MAC address', vm('  vnics:\n    - {name: eth0, network: prod, ip: 10.0.0.11, mac: "aa:bb:cc:00:11"}\n'),
    ['bad.yaml:6 VM acme/web-1 spec.vnics[0].mac: "aa:bb:cc:00:11" is not a MAC address (aa:bb:cc:dd:ee:ff)']],
  ['a VM without vNICs', vm('  tags: [web]\n'),
    ['bad.yaml:4 VM acme/web-1 spec.vnics: required field is missing']],
  ['two vNICs with one name', vm(NIC + '    - {name: eth0, network: prod, ip: 10.0.0.12, mac: "aa:bb:cc:00:00:12"}\n'),
    ['bad.yaml:7 VM acme/web-1 spec.vnics[1].name: duplicate vNIC name "eth0" (also at [0])']],
  ['an unquoted On (YAML 1.1 boolean)', vm('  powerState: Off\n' + NIC),
    ['bad.yaml:5 VM acme/web-1 spec.powerState: Invalid option: expected one of "On"|"Off" (YAML reads an unquoted Off as a boolean: write "Off")']],
  ['a port above 65535', policy('acme', '  ingress:\n    - name: r\n      action: Allow\n      ports:\n        - {protocol: TCP, port: 70000}\n'),
    ['bad.yaml:9 SecurityPolicy acme/p spec.ingress[0].ports[0].port: 70000 is above 65535']],
  ['endPort below port', policy('acme', '  egress:\n    - name: r\n      action: Allow\n      ports:\n        - {port: 90, endPort: 80}\n'),
    ['bad.yaml:9 SecurityPolicy acme/p spec.egress[0].ports[0].endPort: endPort 80 is below port 90']],
  ['a priority above 1000', policy('acme', '  priority: 1001\n'),
    ['bad.yaml:5 SecurityPolicy acme/p spec.priority: 1001 is above 1000']],
  ['an unknown tier', policy('acme', '  tier: Global\n'),
    ['bad.yaml:5 SecurityPolicy acme/p spec.tier: Invalid option: expected one of "Provider"|"Tenant"|"Baseline"']],
  ['a peer with two kinds', policy('acme', '  ingress:\n    - name: r\n      action: Deny\n      peers:\n        - {sameTenant: true, cidr: {cidr: 10.0.0.0/8}}\n'),
    ['bad.yaml:9 SecurityPolicy acme/p spec.ingress[0].peers[0]: exactly one of vms, tenants, sameTenant, cidr must be set, got sameTenant, cidr']],
  ['an invalid CIDR', policy('acme', '  ingress:\n    - name: r\n      action: Deny\n      peers:\n        - cidr: {cidr: 10.0.0.0/33}\n'),
    ['bad.yaml:9 SecurityPolicy acme/p spec.ingress[0].peers[0].cidr.cidr: "10.0.0.0/33" is not an IPv4 CIDR (a.b.c.d/len)']],
  ['an unknown rule action', policy('acme', '  ingress:\n    - name: r\n      action: Drop\n'),
    ['bad.yaml:7 SecurityPolicy acme/p spec.ingress[0].action: Invalid option: expected one of "Allow"|"Deny"|"Pass"']],
  ['a wrong vmsafe.io version', 'apiVersion: vmsafe.io/v1beta1\nkind: Tag\nmetadata: {name: x}\nspec: {}\n',
    ['bad.yaml:1 Tag x apiVersion: expected vmsafe.io/v1alpha1, got "vmsafe.io/v1beta1"']],
  ['an unknown vmsafe.io kind', 'apiVersion: vmsafe.io/v1alpha1\nkind: Firewall\nmetadata: {name: x}\n',
    ['bad.yaml:2 Firewall x kind: unknown kind "Firewall"']],
  ['a document without kind', 'apiVersion: v1\nmetadata: {name: x}\n',
    ['bad.yaml:1 <no kind> x: kind is required']],
  ['a name that is not DNS-1123', 'apiVersion: vmsafe.io/v1alpha1\nkind: Tag\nmetadata: {name: Web_1}\nspec: {}\n',
    ['bad.yaml:3 Tag Web_1 metadata.name: "Web_1" is not a valid name (DNS-1123 subdomain)']],
  ['a namespaced kind without namespace', 'apiVersion: vmsafe.io/v1alpha1\nkind: VM\nmetadata:\n  name: web-1\nspec:\n' + NIC,
    ['bad.yaml:3 VM web-1 metadata.namespace: required field is missing (VM is namespaced)']],
];

const CROSS_CASES: Case[] = [
  ['an unknown Tag on a VM', vm('  tags: [web, gpu]\n' + NIC),
    ['bad.yaml:5 VM acme/web-1 spec.tags[1]: unknown Tag "gpu"']],
  ['an unknown placement Tag on a Tenant', 'apiVersion: vmsafe.io/v1alpha1\nkind: Tenant\nmetadata: {name: initech}\nspec:\n  placementTags:\n    - silver\n',
    ['bad.yaml:6 Tenant initech spec.placementTags[0]: unknown Tag "silver"']],
  ['an unknown Tag on a host network', 'apiVersion: vmsafe.io/v1alpha1\nkind: Host\nmetadata: {name: h3}\nspec:\n  networks:\n    - name: prod\n      tags: [gold, pci]\n',
    ['bad.yaml:7 Host h3 spec.networks[0].tags[1]: unknown Tag "pci"']],
  ['an unknown Tag in appliesTo', policy('acme', '  appliesTo:\n    tags: [db]\n'),
    ['bad.yaml:6 SecurityPolicy acme/p spec.appliesTo.tags[0]: unknown Tag "db"']],
  ['an unknown Tag in a vms peer', policy('acme', '  ingress:\n    - name: r\n      action: Allow\n      peers:\n        - vms: {tags: [app]}\n'),
    ['bad.yaml:9 SecurityPolicy acme/p spec.ingress[0].peers[0].vms.tags[0]: unknown Tag "app"']],
  ['an unknown Tenant in a tenants peer', policy('acme', '  egress:\n    - name: r\n      action: Allow\n      peers:\n        - tenants: [initech]\n'),
    ['bad.yaml:9 SecurityPolicy acme/p spec.egress[0].peers[0].tenants[0]: unknown Tenant "initech"']],
  ['an unknown Tenant in a vms peer', policy('acme', '  egress:\n    - name: r\n      action: Allow\n      peers:\n        - vms: {tenants: [hooli]}\n'),
    ['bad.yaml:9 SecurityPolicy acme/p spec.egress[0].peers[0].vms.tenants[0]: unknown Tenant "hooli"']],
  ['an unknown Tenant in a Provider appliesTo', policy('vmsafe-system', '  tier: Provider\n  appliesTo:\n    tenants: [hooli]\n'),
    ['bad.yaml:7 SecurityPolicy vmsafe-system/p spec.appliesTo.tenants[0]: unknown Tenant "hooli"']],
  ['a Provider policy outside vmsafe-system', policy('acme', '  tier: Provider\n'),
    ['bad.yaml:5 SecurityPolicy acme/p spec.tier: tier Provider is only allowed in the provider namespace "vmsafe-system"']],
  ['a Baseline policy outside vmsafe-system', policy('globex-prod', '  priority: 900\n  tier: Baseline\n'),
    ['bad.yaml:6 SecurityPolicy globex-prod/p spec.tier: tier Baseline is only allowed in the provider namespace "vmsafe-system"']],
  ['a Tenant-tier policy selecting another tenant', policy('acme', '  appliesTo:\n    tenants: [acme, globex]\n'),
    ['bad.yaml:6 SecurityPolicy acme/p spec.appliesTo.tenants[1]: a Tenant-tier policy of tenant "acme" may only select its own VMs, not tenant "globex"']],
  ['a Tenant-tier policy in vmsafe-system', policy('vmsafe-system', '  tier: Tenant\n'),
    ['bad.yaml:3 SecurityPolicy vmsafe-system/p metadata.namespace: a Tenant-tier policy must live in a tenant namespace; "vmsafe-system": the provider namespace holds only Provider and Baseline policies']],
  ['a Tenant-tier policy in an unowned namespace', policy('default', '  priority: 5\n'),
    ['bad.yaml:3 SecurityPolicy default/p metadata.namespace: a Tenant-tier policy must live in a tenant namespace; "default": no Tenant owns it']],
  ['a VM in a namespace no Tenant owns', 'apiVersion: vmsafe.io/v1alpha1\nkind: VM\nmetadata:\n  name: web-1\n  namespace: globex\nspec:\n' + NIC,
    ['bad.yaml:5 VM globex/web-1 metadata.namespace: namespace "globex" is not owned by any Tenant']],
  ['a namespace owned by two tenants', 'apiVersion: vmsafe.io/v1alpha1\nkind: Tenant\nmetadata: {name: initech}\nspec:\n  namespaces: [initech, globex-prod]\n',
    ['bad.yaml:5 Tenant initech spec.namespaces[1]: namespace "globex-prod" is already owned by Tenant "globex"']],
  ['a duplicate IP on a network', vm('  vnics:\n    - {name: eth0, network: prod, ip: 10.0.0.10, mac: "aa:bb:cc:00:00:11"}\n'),
    ['bad.yaml:6 VM acme/web-1 spec.vnics[0].ip: IP 10.0.0.10 is already used on network "prod" by acme/web-0 (eth0)']],
  ['a duplicate MAC on a network (any case)', vm('  vnics:\n    - {name: eth0, network: prod, ip: 10.0.0.11, mac: "AA:BB:CC:00:00:10"}\n'),
    ['bad.yaml:6 VM acme/web-1 spec.vnics[0].mac: MAC AA:BB:CC:00:00:10 is already used on network "prod" by acme/web-0 (eth0)']],
  ['a pin to a host that does not exist', vm('  hostName: h9\n' + NIC),
    ['bad.yaml:5 VM acme/web-1 spec.hostName: unknown Host "h9"']],
  ['a vNIC on a network no host offers', vm('  vnics:\n    - {name: eth0, network: dmz, ip: 10.0.0.11, mac: "aa:bb:cc:00:00:11"}\n'),
    ['bad.yaml:6 VM acme/web-1 spec.vnics[0].network: no Host offers network "dmz"']],
  ['a duplicate object', 'apiVersion: vmsafe.io/v1alpha1\nkind: Tag\nmetadata:\n  name: gold\nspec: {}\n',
    ['bad.yaml:4 Tag gold metadata.name: duplicate Tag "gold" (also at world.yaml:1)']],
  ['a duplicate namespaced object', VM_HEAD.replace('web-1', 'web-0') + NIC,
    ['bad.yaml:3 VM acme/web-0 metadata.name: duplicate VM "acme/web-0" (also at world.yaml:36)']],
  ['a misspelt field (zod and the API server would drop it)', vm('  hostname: h1\n' + NIC),
    ['bad.yaml:5 VM acme/web-1 spec.hostname: unknown field']],
  ['an unknown field inside a list item', vm('  vnics:\n    - {name: eth0, network: prod, ip: 10.0.0.11, mac: "aa:bb:cc:00:00:11", vlan: 7}\n'),
    ['bad.yaml:6 VM acme/web-1 spec.vnics[0].vlan: unknown field']],
  ['an unknown metadata field', 'apiVersion: vmsafe.io/v1alpha1\nkind: Tag\nmetadata:\n  name: db\n  lables: {a: b}\nspec: {}\n',
    ['bad.yaml:5 Tag db metadata.lables: unknown field']],
  ['a field named like an Object method', vm('  constructor: h1\n' + NIC),
    ['bad.yaml:5 VM acme/web-1 spec.constructor: unknown field']],
];

const WARNING_CASES: Case[] = [
  ['a pin to a host missing a required tag', vm('  hostName: h2\n  vnics:\n    - {name: eth0, network: plain, ip: 10.0.0.11, mac: "aa:bb:cc:00:00:11"}\n'),
    ['bad.yaml:5 VM acme/web-1 spec.hostName: warning: pinned VM would be quarantined: host h2 lacks tags gold; network plain on host h2 lacks tags gold']],
  ['a VM no host can run', vm('  vnics:\n    - {name: eth0, network: plain, ip: 10.0.0.11, mac: "aa:bb:cc:00:00:11"}\n'),
    ['bad.yaml:4 VM acme/web-1 spec: warning: no Host can run this VM (needs tags gold and networks plain): host h1 has no network plain; host h2 lacks tags gold; network plain on host h2 lacks tags gold']],
  ['a tenant over its VM quota', [1, 2, 3].map((i) => VM_HEAD.replace('web-1', `web-${i}`) + NIC.replace(/11/g, `1${i}`)).join('---\n'),
    ['world.yaml:14 Tenant acme spec.quota.vms: warning: 4 VMs in the manifests exceed the quota of 3']],
];

describe('validateObjects', () => {
  it('finds nothing in the clean world', () => {
    expect(validateObjects(world())).toEqual([]);
  });

  it.each([...SCHEMA_CASES, ...CROSS_CASES])('reports %s (exit 1)', (_name, yaml, expected) => {
    expect(check(yaml)).toEqual({ lines: expected, exit: 1 });
  });

  it.each(WARNING_CASES)('warns about %s (exit 0)', (_name, yaml, expected) => {
    expect(check(yaml)).toEqual({ lines: expected, exit: 0 });
  });

  it('has at least 25 distinct error cases', () => {
    const messages = new Set([...SCHEMA_CASES, ...CROSS_CASES].map(([, , e]) => e[0]!.replace(/^\S+ \S+ \S+ /, '')));
    expect(messages.size).toBeGreaterThanOrEqual(25);
  });

  it('ignores objects of other API groups, even odd ones', () => {
    expect(lint('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: acme}\nspec: {vnics: 7}\n')).toEqual([]);
  });

  it('reads JSON and List manifests with their lines', () => {
    const json = '{"apiVersion": "v1", "kind": "List", "items": [\n  {"apiVersion": "vmsafe.io/v1alpha1", "kind": "Tag", "metadata": {"name": "db"}},\n  {"apiVersion": "vmsafe.io/v1alpha1", "kind": "Tag",\n   "metadata": {"name": "db"}, "spec": {}}\n]}\n';
    expect(lint(json)).toEqual([
      'bad.yaml:2 Tag db spec: required field is missing',
      'bad.yaml:4 Tag db metadata.name: duplicate Tag "db" (also at bad.yaml:2)',
    ]);
  });

  it('sorts findings by file and line', () => {
    const two = vm('  tags: [gpu]\n' + NIC) + '---\n' + policy('acme', '  tier: Provider\n');
    expect(lint(two)).toEqual([
      'bad.yaml:5 VM acme/web-1 spec.tags[0]: unknown Tag "gpu"',
      'bad.yaml:13 SecurityPolicy acme/p spec.tier: tier Provider is only allowed in the provider namespace "vmsafe-system"',
    ]);
  });

  describe('extra linters', () => {
    const shadow: Linter = (model) =>
      model.policies
        .filter((p) => p.value.spec.ingress.length > 1)
        .map((p) => findingAt(p.src, ['spec', 'ingress', 1], 'rule is shadowed', 'warning'));
    const bad = policy('acme', '  ingress:\n    - {name: a, action: Allow}\n    - {name: b, action: Deny}\n');
    let unregister: (() => void) | undefined;
    afterEach(() => unregister?.());

    it('run per call and report through the same format', () => {
      expect(lint(bad, [shadow])).toEqual(['bad.yaml:7 SecurityPolicy acme/p spec.ingress[1]: warning: rule is shadowed']);
      expect(lint(bad)).toEqual([]);
    });

    it('run on every call once registered', () => {
      const counting: Linter = (model) => [findingAt(model.hosts.get('h1')!.src, ['spec', 'tags'], 'seen', 'warning')];
      unregister = registerLinter(counting);
      expect(lint('')).toEqual(['world.yaml:25 Host h1 spec.tags: warning: seen']);
      unregister();
      expect(lint('')).toEqual([]);
    });
  });
});
