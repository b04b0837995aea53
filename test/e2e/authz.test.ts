// Authentication, RBAC, impersonation, access reviews and TokenRequest with the real kubectl:
// a tenant admin of acme (group acme-admins, bound to vmsafe-tenant-admin in acme as the operator
// binds it) against the embedded server, and the 403 wording kubectl prints for a real cluster.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startTestApiServer, type TestApiServer } from '../helpers/apiserver';

let t: TestApiServer;
const ALICE = 'alice-token-0123456789';
const BOB = 'bob-token-0123456789';

beforeAll(async () => {
  t = await startTestApiServer({
    users: [
      { token: ALICE, username: 'alice@acme', groups: ['acme-admins'] },
      { token: BOB, username: 'bob@globex', groups: ['globex-admins'] },
    ],
  });
  const setup = await t.kubectl(['apply', '-f', join(REPO_ROOT, 'manifests/rbac-tenant-admin.yaml')]);
  expect(setup.code, setup.stderr).toBe(0);
  for (const args of [
    ['create', 'namespace', 'acme'],
    ['create', 'namespace', 'globex-prod'],
    ['create', 'rolebinding', 'acme-admins', '-n', 'acme', '--clusterrole', 'vmsafe-tenant-admin', '--group', 'acme-admins'],
    ['create', 'rolebinding', 'globex-admins', '-n', 'globex-prod', '--clusterrole', 'vmsafe-tenant-admin', '--group', 'globex-admins'],
    ['create', 'secret', 'generic', 'db', '-n', 'acme', '--from-literal', 'password=x'],
    ['create', 'clusterrole', 'cluster-admin-ish', '--verb', '*', '--resource', '*.*'],
  ]) {
    const r = await t.kubectl(args);
    expect(r.code, r.stderr).toBe(0);
  }
});
afterAll(async () => {
  await t?.close();
});

const as = (token: string, args: string[]) => t.kubectl(['--token', token, ...args]);

describe('authentication and kubectl auth whoami', () => {
  it('names the admin and a token user with their groups', async () => {
    const admin = await t.kubectl(['auth', 'whoami', '-o', 'json']);
    expect(admin.code, admin.stderr).toBe(0);
    expect(JSON.parse(admin.stdout).status.userInfo).toEqual({ username: 'vmsafe-admin', groups: ['system:masters', 'system:authenticated'] });
    const alice = await as(ALICE, ['auth', 'whoami']);
    expect(alice.stdout).toMatch(/Username\s+alice@acme/);
    expect(alice.stdout).toMatch(/Groups\s+\[acme-admins system:authenticated\]/);
  });

  it('rejects an unknown token with 401', async () => {
    const r = await as('nope', ['get', 'vms', '-n', 'acme']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: You must be logged in to the server (Unauthorized)');
  });
});

describe('RBAC with kube-apiserver wording', () => {
  it('lets a tenant admin manage VMs in its namespace', async () => {
    const vm = { apiVersion: 'vmsafe.io/v1alpha1', kind: 'VM', metadata: { name: 'web', namespace: 'acme' }, spec: { vnics: [{ name: 'eth0', network: 'prod', ip: '10.0.0.5', mac: '02:00:00:00:00:05' }] } };
    const created = await t.kubectl(['--token', ALICE, 'create', '-f', '-'], { input: JSON.stringify(vm) });
    expect(created.stdout.trim(), created.stderr).toBe('vm.vmsafe.io/web created');
    const list = await as(ALICE, ['get', 'vms', '-n', 'acme', '-o', 'name']);
    expect(list.stdout.trim(), list.stderr).toBe('vm.vmsafe.io/web');
    const del = await as(ALICE, ['delete', 'vm', 'web', '-n', 'acme', '--wait=false']);
    expect(del.stdout.trim(), del.stderr).toBe('vm.vmsafe.io "web" deleted');
  });

  it('answers 403 for a list the user cannot do (no filtering), in kube words', async () => {
    const secrets = await as(ALICE, ['get', 'secrets', '-n', 'acme']);
    expect(secrets.code).toBe(1);
    expect(secrets.stderr.trim()).toBe(
      'Error from server (Forbidden): secrets is forbidden: User "alice@acme" cannot list resource "secrets" in API group "" in the namespace "acme"',
    );
    const one = await as(ALICE, ['get', 'secret', 'db', '-n', 'acme']);
    expect(one.stderr.trim()).toBe(
      'Error from server (Forbidden): secrets "db" is forbidden: User "alice@acme" cannot get resource "secrets" in API group "" in the namespace "acme"',
    );
    const other = await as(ALICE, ['get', 'vms', '-n', 'globex-prod']);
    expect(other.stderr.trim()).toBe(
      'Error from server (Forbidden): vms.vmsafe.io is forbidden: User "alice@acme" cannot list resource "vms" in API group "vmsafe.io" in the namespace "globex-prod"',
    );
    const hosts = await as(ALICE, ['get', 'hosts']);
    expect(hosts.stderr.trim()).toBe(
      'Error from server (Forbidden): hosts.vmsafe.io is forbidden: User "alice@acme" cannot list resource "hosts" in API group "vmsafe.io" at the cluster scope',
    );
  });

  it('kubectl auth can-i answers per verb, subresource and namespace', async () => {
    const yes = await as(ALICE, ['auth', 'can-i', 'create', 'vms.vmsafe.io', '-n', 'acme']);
    expect([yes.stdout.trim(), yes.code]).toEqual(['yes', 0]);
    for (const args of [
      ['get', 'secrets', '-n', 'acme'],
      ['list', 'vms.vmsafe.io', '-n', 'globex-prod'],
      ['update', 'vms.vmsafe.io', '--subresource', 'status', '-n', 'acme'],
      ['create', 'hostfilters.vmsafe.io'],
      ['deletecollection', 'vms.vmsafe.io', '-n', 'acme'],
    ]) {
      const no = await as(ALICE, ['auth', 'can-i', ...args]);
      expect([args.join(' '), no.stdout.trim(), no.code]).toEqual([args.join(' '), 'no', 1]);
    }
    const list = await as(ALICE, ['auth', 'can-i', '--list', '-n', 'acme']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/vms\.vmsafe\.io\s+\[\]\s+\[\]\s+\[get list watch create update patch delete\]/);
    expect(list.stdout).toMatch(/selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]/);
  });
});

describe('RBAC escalation prevention', () => {
  it('refuses a binding that grants more than the writer holds, also through a patch', async () => {
    expect((await t.kubectl(['create', 'role', 'rbac-writer', '-n', 'acme', '--verb', 'create,update,patch,get', '--resource', 'rolebindings.rbac.authorization.k8s.io'])).code).toBe(0);
    expect((await t.kubectl(['create', 'rolebinding', 'alice-rbac', '-n', 'acme', '--role', 'rbac-writer', '--user', 'alice@acme'])).code).toBe(0);
    const held = await as(ALICE, ['create', 'rolebinding', 'helper', '-n', 'acme', '--clusterrole', 'vmsafe-tenant-admin', '--user', 'carol']);
    expect(held.stdout.trim(), held.stderr).toBe('rolebinding.rbac.authorization.k8s.io/helper created');
    const escalate = await as(ALICE, ['create', 'rolebinding', 'me-admin', '-n', 'acme', '--clusterrole', 'cluster-admin-ish', '--user', 'alice@acme']);
    expect(escalate.code).toBe(1);
    expect(escalate.stderr).toContain('is attempting to grant RBAC permissions not currently held');
    const patch = await as(ALICE, ['patch', 'rolebinding', 'helper', '-n', 'acme', '--type', 'merge', '-p', '{"roleRef":{"name":"cluster-admin-ish"},"subjects":[{"kind":"User","name":"alice@acme"}]}']);
    expect(patch.code).toBe(1);
    expect(patch.stderr).toContain('rolebindings.rbac.authorization.k8s.io "helper" is forbidden');
  });
});

describe('impersonation', () => {
  it('lets the admin act as a tenant admin (kubectl --as/--as-group)', async () => {
    const who = await t.kubectl(['auth', 'whoami', '--as', 'alice@acme', '--as-group', 'acme-admins', '-o', 'json']);
    expect(JSON.parse(who.stdout).status.userInfo).toEqual({ username: 'alice@acme', groups: ['acme-admins', 'system:authenticated'] });
    const denied = await t.kubectl(['get', 'secrets', '-n', 'acme', '--as', 'alice@acme', '--as-group', 'acme-admins']);
    expect(denied.stderr).toContain('secrets is forbidden: User "alice@acme" cannot list resource "secrets"');
  });

  it('refuses impersonation to those without the impersonate verb', async () => {
    const r = await as(ALICE, ['get', 'vms', '-n', 'globex-prod', '--as', 'bob@globex']);
    expect(r.stderr.trim()).toBe(
      'Error from server (Forbidden): users "bob@globex" is forbidden: User "alice@acme" cannot impersonate resource "users" in API group "" at the cluster scope',
    );
  });
});

describe('ServiceAccount tokens (kubectl create token)', () => {
  it('issues a signed token that authenticates as the ServiceAccount until it is deleted', async () => {
    expect((await t.kubectl(['create', 'serviceaccount', 'robot', '-n', 'acme'])).code).toBe(0);
    const tok = await t.kubectl(['create', 'token', 'robot', '-n', 'acme']);
    expect(tok.code, tok.stderr).toBe(0);
    const token = tok.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const who = await as(token, ['auth', 'whoami', '-o', 'json']);
    expect(JSON.parse(who.stdout).status.userInfo).toMatchObject({
      username: 'system:serviceaccount:acme:robot',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:acme', 'system:authenticated'],
    });
    const before = await as(token, ['get', 'vms', '-n', 'acme']);
    expect(before.stderr).toContain('User "system:serviceaccount:acme:robot" cannot list resource "vms"');
    expect((await t.kubectl(['create', 'rolebinding', 'robot', '-n', 'acme', '--clusterrole', 'vmsafe-tenant-admin', '--serviceaccount', 'acme:robot'])).code).toBe(0);
    const after = await as(token, ['get', 'vms', '-n', 'acme', '-o', 'name']);
    expect(after.code, after.stderr).toBe(0);
    const tampered = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
    expect((await as(tampered, ['get', 'vms', '-n', 'acme'])).stderr).toContain('Unauthorized');
    expect((await t.kubectl(['delete', 'serviceaccount', 'robot', '-n', 'acme'])).code).toBe(0);
    expect((await as(token, ['get', 'vms', '-n', 'acme'])).stderr).toContain('Unauthorized');
  });

  it('rejects a too-short duration naming the field', async () => {
    expect((await t.kubectl(['create', 'serviceaccount', 'short', '-n', 'acme'])).code).toBe(0);
    const r = await t.kubectl(['create', 'token', 'short', '-n', 'acme', '--duration', '1m']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes');
  });
});

describe('SubjectAccessReview over HTTP', () => {
  it('answers for another user, and only for those allowed to ask', async () => {
    const body = {
      apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
      spec: { user: 'alice@acme', groups: ['acme-admins'], resourceAttributes: { namespace: 'acme', verb: 'delete', group: 'vmsafe.io', resource: 'vms' } },
    };
    const r = await t.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', { body });
    expect(r.status).toBe(201);
    expect(r.body.status.allowed).toBe(true);
    expect(r.body.status.reason).toBe('RBAC: allowed by RoleBinding "acme-admins/acme" of ClusterRole "vmsafe-tenant-admin" to Group "acme-admins"');
    const denied = await t.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', { body, token: ALICE });
    expect(denied.status).toBe(403);
    expect(denied.body.message).toBe(
      'subjectaccessreviews.authorization.k8s.io is forbidden: User "alice@acme" cannot create resource "subjectaccessreviews" in API group "authorization.k8s.io" at the cluster scope',
    );
    const bad = await t.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', { body: { spec: { user: 'x' } } });
    expect(bad.status).toBe(422);
    expect(bad.body.message).toContain('exactly one of nonResourceAttributes or resourceAttributes must be specified');
  });
});

describe('an agent credential (node-bound ServiceAccount token) and the agent admission policy', () => {
  it('writes its own host\'s HostFilter status and Lease, and is refused another host\'s', async () => {
    // As kustomize installs them (manifests/kustomization.yaml puts them in vmsafe-system).
    for (const f of ['manifests/namespace.yaml', 'manifests/rbac-agent.yaml', 'manifests/admission.yaml']) {
      const r = await t.kubectl(['apply', '-n', 'vmsafe-system', '-f', join(REPO_ROOT, f)]);
      expect(r.code, r.stderr).toBe(0);
    }
    for (const host of ['esx-gold-01', 'esx-gold-02']) {
      const hf = { apiVersion: 'vmsafe.io/v1alpha1', kind: 'HostFilter', metadata: { name: host }, spec: { hostName: host, hash: 'hf-0', programs: [], addressGroups: [], bindings: [] } };
      const r = await t.kubectl(['apply', '-f', '-'], { input: JSON.stringify(hf) });
      expect(r.code, r.stderr).toBe(0);
    }
    const tok = await t.kubectl(['create', 'token', 'vmsafe-agent', '-n', 'vmsafe-system', '--bound-object-kind', 'Node', '--bound-object-name', 'esx-gold-01']);
    expect(tok.code, tok.stderr).toBe(0);
    const agent = tok.stdout.trim();
    const who = JSON.parse((await as(agent, ['auth', 'whoami', '-o', 'json'])).stdout).status.userInfo;
    expect(who).toMatchObject({ username: 'system:serviceaccount:vmsafe-system:vmsafe-agent', extra: { 'authentication.kubernetes.io/node-name': ['esx-gold-01'] } });
    const status = (host: string) => as(agent, ['patch', 'hostfilter', host, '--subresource', 'status', '--type', 'merge', '-p', '{"status":{"appliedHash":"hf-0"}}']);
    const own = await status('esx-gold-01');
    expect(own.code, own.stderr).toBe(0);
    const other = await status('esx-gold-02');
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain(`hostfilters.vmsafe.io "esx-gold-02" is forbidden: ValidatingAdmissionPolicy 'vmsafe-agent-own-host' with binding 'vmsafe-agent-own-host' denied request`);
    expect(JSON.parse((await t.kubectl(['get', 'hostfilter', 'esx-gold-02', '-o', 'json'])).stdout).status?.appliedHash).toBeUndefined();
    // Its spec is the operator's: RBAC refuses the agent any spec write.
    const spec = await as(agent, ['patch', 'hostfilter', 'esx-gold-01', '--type', 'merge', '-p', '{"spec":{"hash":"hf-evil"}}']);
    expect(spec.stderr).toContain('cannot patch resource "hostfilters" in API group "vmsafe.io"');
    // Leases: its own, not another agent's.
    const lease = (name: string) => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: 'vmsafe-system' }, spec: { holderIdentity: 'x' } });
    const mine = await t.kubectl(['--token', agent, 'apply', '-f', '-'], { input: JSON.stringify(lease('agent-esx-gold-01')) });
    expect(mine.code, mine.stderr).toBe(0);
    const theirs = await t.kubectl(['--token', agent, 'apply', '-f', '-'], { input: JSON.stringify(lease('agent-esx-gold-02')) });
    expect(theirs.stderr).toContain("ValidatingAdmissionPolicy 'vmsafe-agent-own-host'");
    // A bound object of a kind the server cannot bind to is a 422 naming the field.
    const bad = await t.kubectl(['create', 'token', 'vmsafe-agent', '-n', 'vmsafe-system', '--bound-object-kind', 'Secret', '--bound-object-name', 'x']);
    expect(bad.code).not.toBe(0);
  });
});
