// The dev stack's promise: with examples/ applied, the operator binds each Tenant's admins, and
// `kubectl --as` an acme admin manages acme's VMs but sees nothing of globex nor Secrets (RBAC
// enforced by the embedded server, real kubectl).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyManifests, REPO_ROOT, startDevStack, type DevStack } from '../../src/dev/stack';
import { silentLogger } from '../../src/util/log';
import { kubectlFor } from '../helpers/kubectl';
import { waitFor } from '../helpers/wait';

let stack: DevStack;
let home: string;
let kubectl: ReturnType<typeof kubectlFor>['kubectl'];
beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'vmsafe-authz-dev-'));
  stack = await startDevStack({ logger: silentLogger, kubeconfigPath: join(home, 'kubeconfig'), agents: false });
  kubectl = kubectlFor(stack.kubeconfigPath, home).kubectl;
  await applyManifests(stack, [join(REPO_ROOT, 'examples')]);
});
afterAll(async () => {
  await stack?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

const AS_ACME = ['--as', 'alice', '--as-group', 'acme-admins'];

describe('vmsafe dev: acting as a tenant admin', () => {
  it('reads its own VMs once the operator binds the Tenant admins', async () => {
    const r = await waitFor('acme admins bound', async () => {
      const x = await kubectl([...AS_ACME, 'get', 'vms', '-n', 'acme', '-o', 'name']);
      return x.code === 0 ? x : undefined;
    });
    expect(r.stdout).toContain('vm.vmsafe.io/web-1');
  });

  it('is refused Secrets, Hosts, other tenants and Provider policy writes outside its namespace', async () => {
    const secrets = await kubectl([...AS_ACME, 'get', 'secrets', '-n', 'acme']);
    expect(secrets.stderr).toContain('secrets is forbidden: User "alice" cannot list resource "secrets" in API group "" in the namespace "acme"');
    const hosts = await kubectl([...AS_ACME, 'get', 'hosts']);
    expect(hosts.stderr).toContain('User "alice" cannot list resource "hosts" in API group "vmsafe.io" at the cluster scope');
    const other = await kubectl([...AS_ACME, 'get', 'vms', '-n', 'globex-prod']);
    expect(other.stderr).toContain('in the namespace "globex-prod"');
    const hf = await kubectl([...AS_ACME, 'auth', 'can-i', 'list', 'hostfilters.vmsafe.io']);
    expect([hf.stdout.trim(), hf.code]).toEqual(['no', 1]);
    const sys = await kubectl([...AS_ACME, 'auth', 'can-i', 'create', 'securitypolicies.vmsafe.io', '-n', 'vmsafe-system']);
    expect([sys.stdout.trim(), sys.code]).toEqual(['no', 1]);
  });

  it('answers kubectl auth can-i as the README table says', async () => {
    const cases: Array<[string[], 'yes' | 'no']> = [
      [['create', 'vms.vmsafe.io', '-n', 'acme'], 'yes'],
      [['delete', 'securitypolicies.vmsafe.io', '-n', 'acme'], 'yes'],
      [['patch', 'vms.vmsafe.io', '-n', 'acme', '--subresource', 'status'], 'no'],
      [['get', 'vms.vmsafe.io', '-n', 'globex-prod'], 'no'],
      [['update', 'securitypolicies.vmsafe.io', '-n', 'globex-prod'], 'no'],
      [['get', 'securitypolicies.vmsafe.io', '-n', 'vmsafe-system'], 'no'],
      [['get', 'secrets', '-n', 'acme'], 'no'],
      [['list', 'hosts.vmsafe.io'], 'no'],
      [['get', 'hostfilters.vmsafe.io'], 'no'],
      [['impersonate', 'users'], 'no'],
    ];
    const got = [];
    for (const [args] of cases) got.push((await kubectl([...AS_ACME, 'auth', 'can-i', ...args])).stdout.trim());
    expect(got).toEqual(cases.map(([, want]) => want));
  });

  it('manages its own VMs and policies, and admission refuses a Provider-tier policy in its namespace', async () => {
    const vm = { apiVersion: 'vmsafe.io/v1alpha1', kind: 'VM', metadata: { name: 'scratch', namespace: 'acme' }, spec: { tags: ['web'], vnics: [{ name: 'eth0', network: 'acme-web', ip: '10.10.0.99', mac: '00:50:56:0a:00:99' }] } };
    const created = await kubectl([...AS_ACME, 'apply', '-f', '-'], { input: JSON.stringify(vm) });
    expect(created.code, created.stderr).toBe(0);
    expect((await kubectl([...AS_ACME, 'delete', 'vm', '-n', 'acme', 'scratch'])).code).toBe(0);
    const guard = (tier: string) => ({ apiVersion: 'vmsafe.io/v1alpha1', kind: 'SecurityPolicy', metadata: { name: 'guard', namespace: 'acme' }, spec: { tier, egress: [{ name: 'deny', action: 'Deny', peers: [{ cidr: { cidr: '192.0.2.0/24' } }] }] } });
    const provider = await kubectl([...AS_ACME, 'apply', '-f', '-'], { input: JSON.stringify(guard('Provider')) });
    expect(provider.code).not.toBe(0);
    expect(provider.stderr).toContain("ValidatingAdmissionPolicy 'vmsafe-policy-tiers' with binding 'vmsafe-policy-tiers' denied request: tier Provider is allowed only in the provider namespace vmsafe-system, not in acme");
    const tenantTier = await kubectl([...AS_ACME, 'apply', '-f', '-'], { input: JSON.stringify(guard('Tenant')) });
    expect(tenantTier.code, tenantTier.stderr).toBe(0);
    const other = await kubectl([...AS_ACME, 'apply', '-f', '-'], { input: JSON.stringify({ ...guard('Tenant'), metadata: { name: 'guard', namespace: 'globex-prod' } }) });
    expect(other.stderr).toContain('cannot get resource "securitypolicies" in API group "vmsafe.io" in the namespace "globex-prod"');
  });
});
