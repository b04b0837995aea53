// The dev stack's promise: with examples/ applied, the operator binds each Tenant's admins, and
// `kubectl --as` an acme admin manages acme's VMs but sees nothing of globex nor Secrets (RBAC
// enforced by the embedded server, real kubectl).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyManifests, REPO_ROOT, startDevStack, type DevStack } from '../../src/dev/stack';
import { silentLogger } from '../../src/util/log';
import { kubectlFor } from '../helpers/kubectl';
import { waitFor } from '../helpers/wait';

let stack: DevStack;
let kubectl: ReturnType<typeof kubectlFor>['kubectl'];
beforeAll(async () => {
  const home = mkdtempSync(join(tmpdir(), 'vmsafe-authz-dev-'));
  stack = await startDevStack({ logger: silentLogger, kubeconfigPath: join(home, 'kubeconfig'), agents: false });
  kubectl = kubectlFor(stack.kubeconfigPath, home).kubectl;
  await applyManifests(stack, [join(REPO_ROOT, 'examples')]);
});
afterAll(async () => {
  await stack?.stop();
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
});
