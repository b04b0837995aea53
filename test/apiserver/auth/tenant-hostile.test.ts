// A hostile tenant or lightly privileged user against the API server: requests whose text the
// authorizer and the router must read alike (impersonated anonymous, watch spellings), DeleteOptions
// that must be honoured as sent (dryRun) or refused as kube refuses them (400, never a 500).
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startTestApiServer, type TestApiServer } from '../../helpers/apiserver';

let t: TestApiServer;
const ALICE = 'alice-token-0123456789';
const EVE = 'eve-token-0123456789';
const LISTER = 'lister-token-0123456789';
const VMS = '/apis/vmsafe.io/v1alpha1/namespaces/acme/vms';

const vm = (name: string) => ({
  apiVersion: 'vmsafe.io/v1alpha1', kind: 'VM', metadata: { name, namespace: 'acme' },
  spec: { vnics: [{ name: 'eth0', network: 'prod', ip: '10.0.0.5', mac: '02:00:00:00:00:05' }] },
});

beforeAll(async () => {
  t = await startTestApiServer({
    users: [
      { token: ALICE, username: 'alice@acme', groups: ['acme-admins'] },
      // Allowed to see what anonymous sees (`kubectl --as system:anonymous`), nothing else.
      { token: EVE, username: 'eve', groups: [] },
      // May list ConfigMaps in acme, not watch them.
      { token: LISTER, username: 'lister', groups: [] },
    ],
  });
  await t.ok(['apply', '-f', join(REPO_ROOT, 'manifests/rbac-tenant-admin.yaml')]);
  for (const args of [
    ['create', 'namespace', 'acme'],
    ['create', 'rolebinding', 'acme-admins', '-n', 'acme', '--clusterrole', 'vmsafe-tenant-admin', '--group', 'acme-admins'],
    ['create', 'secret', 'generic', 'db', '-n', 'acme', '--from-literal', 'password=x'],
    ['create', 'clusterrole', 'see-as-anonymous', '--verb', 'impersonate', '--resource', 'users', '--resource-name', 'system:anonymous'],
    ['create', 'clusterrolebinding', 'eve-anonymous', '--clusterrole', 'see-as-anonymous', '--user', 'eve'],
    ['create', 'role', 'list-cm', '-n', 'acme', '--verb', 'list', '--resource', 'configmaps'],
    ['create', 'rolebinding', 'lister', '-n', 'acme', '--role', 'list-cm', '--user', 'lister'],
  ])
    await t.ok(args);
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('the authorizer and the router read a request alike', () => {
  it('an impersonated system:anonymous is authorized as anonymous, not let through like a health check', async () => {
    const r = await t.kubectl(['--token', EVE, '--as', 'system:anonymous', 'get', 'secrets', '-n', 'acme', '-o', 'name']);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Error from server (Forbidden): secrets is forbidden: User "system:anonymous" cannot list resource "secrets" in API group "" in the namespace "acme"');
    const del = await t.request('DELETE', '/api/v1/namespaces/acme/secrets/db', { token: EVE, headers: { 'Impersonate-User': 'system:anonymous' } });
    expect(del.status).toBe(403);
    expect((await t.request('GET', '/api/v1/namespaces/acme/secrets/db')).status).toBe(200);
    // The health endpoints stay public for a caller without a token.
    expect((await t.request('GET', '/healthz', { token: null })).status).toBe(200);
  });

  it('watch=t (or any spelling the router takes for a watch) is authorized as a watch', async () => {
    expect((await t.request('GET', '/api/v1/namespaces/acme/configmaps', { token: LISTER })).status).toBe(200);
    for (const v of ['true', '1', 't', 'T', 'TRUE', 'True']) {
      const r = await t.request('GET', `/api/v1/namespaces/acme/configmaps?watch=${v}&timeoutSeconds=1`, { token: LISTER });
      expect(r.status, `watch=${v}`).toBe(403);
      expect(r.body.message).toBe('configmaps is forbidden: User "lister" cannot watch resource "configmaps" in API group "" in the namespace "acme"');
    }
  });
});
