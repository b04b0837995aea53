// The real kubectl against the embedded API server, for what issue 13 found kubectl doing against a
// real cluster that ours did not serve: events.k8s.io columns, /openapi/v2, the kinds of
// `apply --prune`'s default allowlist, `get all`, `cluster-info`, and kube-root-ca.crt in every namespace.
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApiServer, type TestApiServer } from '../helpers/apiserver';

let t: TestApiServer;
beforeAll(async () => {
  t = await startTestApiServer();
});
afterAll(async () => {
  await t?.close();
});

const ok = (args: string[], input?: string) => t.ok(args, input);
const cols = (line: string) => line.trim().split(/\s{2,}/);

describe('kubectl fidelity', () => {
  it('get events.events.k8s.io prints OBJECT and MESSAGE from regarding and note', async () => {
    const ev = {
      apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'placed', namespace: 'default' },
      eventTime: '2026-01-01T00:00:00.000000Z', reportingController: 'vmsafe.io/operator', reportingInstance: 'op-1',
      action: 'Place', reason: 'Placed', type: 'Normal', note: 'placed on esx-01', regarding: { kind: 'VM', name: 'web-1', namespace: 'default' },
    };
    await ok(['create', '-f', '-'], JSON.stringify(ev));
    const [header, row] = (await ok(['get', 'events.events.k8s.io', '-n', 'default'])).trim().split('\n');
    expect(cols(header!)).toEqual(['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
    expect(cols(row!).slice(1)).toEqual(['Normal', 'Placed', 'vm/web-1', 'placed on esx-01']);
  });

  it('serves /openapi/v2 as JSON (Swagger 2.0 with every kind) and as protobuf when asked', async () => {
    const json = await t.request('GET', '/openapi/v2', { headers: { Accept: 'application/json' } });
    expect(json.status).toBe(200);
    expect(json.body.swagger).toBe('2.0');
    expect(Object.keys(json.body.definitions)).toEqual(expect.arrayContaining(['io.vmsafe.v1alpha1.VM', 'io.k8s.api.core.v1.ConfigMap', 'io.k8s.api.apps.v1.Deployment']));
    expect(json.body.definitions['io.vmsafe.v1alpha1.VM'].properties.metadata.allOf[0].$ref).toBe('#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
    const patch = json.body.paths['/apis/vmsafe.io/v1alpha1/namespaces/{namespace}/vms/{name}'].patch;
    expect(patch.parameters.find((p: any) => p.in === 'body')).toBeTruthy();
    expect(patch.parameters.find((p: any) => p.name === 'fieldValidation')).toMatchObject({ in: 'query', type: 'string' });
    const pb = await t.request('GET', '/openapi/v2', { headers: { Accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' } });
    expect(pb.status).toBe(200);
    // kube-openapi answers with '.v1.0' ('@' is not a token character for Go's mime parser, which kubectl uses).
    expect(pb.headers['content-type']).toBe('application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    expect(Buffer.from(pb.text, 'latin1').subarray(0, 5)).toEqual(Buffer.from([0x0a, 0x03, 0x32, 0x2e, 0x30]));
  });

  it('apply --prune -l without an allowlist prunes what left the manifests', async () => {
    await ok(['create', 'namespace', 'prune']);
    const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'prune', labels: { app: 'pruned' } }, data: { k: name } });
    const list = (...items: object[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
    expect(await ok(['apply', '--prune', '-l', 'app=pruned', '-f', '-'], list(cm('keep'), cm('drop')))).toContain('configmap/drop created');
    const r = await t.kubectl(['apply', '--prune', '-l', 'app=pruned', '-f', '-'], { input: list(cm('keep')) });
    expect(r.stderr).not.toContain('no matches for kind');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('configmap/keep unchanged');
    expect(r.stdout).toContain('configmap/drop pruned');
    expect((await t.kubectl(['get', 'cm', 'drop', '-n', 'prune'])).stderr).toContain('not found');
  });

  it('get all lists the workload kinds with their columns', async () => {
    await ok(['create', 'namespace', 'shop']);
    expect((await t.kubectl(['get', 'all', '-n', 'shop'])).stderr).toContain('No resources found in shop namespace.');
    // (kubectl's `create deployment` / `create service` send protobuf, decoded only for the kinds protobuf.ts knows: apply YAML.)
    const manifests = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: "nginx:1.27"}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`;
    expect(await ok(['apply', '-f', '-'], manifests)).toContain('deployment.apps/web created');
    expect(await ok(['apply', '-f', '-'], manifests)).toContain('deployment.apps/web unchanged');
    const out = await ok(['get', 'all', '-n', 'shop']);
    expect(out).toMatch(/^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/m);
    expect(out).toMatch(/^service\/web\s+ClusterIP\s+<none>\s+<none>\s+80\/TCP\s+\d+s$/m);
    expect(out).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/m);
    // Nothing runs the Deployment here: its status says so (0 of 2 ready), it does not pretend.
    expect(out).toMatch(/^deployment\.apps\/web\s+0\/2\s+0\s+0\s+\d+s$/m);
    const dep = YAML.parse(await ok(['get', 'deploy', 'web', '-n', 'shop', '-o', 'yaml']));
    expect(dep).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { generation: 1 }, spec: { replicas: 2 } });
    // kubectl's strategic merge patch of a built-in (containers merged by name) bumps the generation.
    expect(await ok(['set', 'image', 'deployment/web', '-n', 'shop', 'nginx=nginx:1.28'])).toContain('image updated');
    expect(await ok(['get', 'deploy', 'web', '-n', 'shop', '-o', 'jsonpath={.spec.template.spec.containers[0].image} {.metadata.generation}'])).toBe('nginx:1.28 2');
  });

  it('cluster-info names the control plane', async () => {
    const out = await ok(['cluster-info']);
    expect(out).toContain(`Kubernetes control plane is running at ${t.url}`);
  });

  it('publishes kube-root-ca.crt in every namespace, recreates it when deleted and restores it when changed', async () => {
    const ca = () => t.kubectl(['get', 'cm', 'kube-root-ca.crt', '-n', 'fresh', '-o', 'jsonpath={.data.ca\\.crt}']);
    expect(await ok(['get', 'cm', 'kube-root-ca.crt', '-n', 'default', '-o', 'jsonpath={.data.ca\\.crt}'])).toBe(t.server.caCert);
    await ok(['create', 'namespace', 'fresh']);
    await eventually(async () => (await ca()).stdout === t.server.caCert, 10_000, 'kube-root-ca.crt in a new namespace');
    const uid = await ok(['get', 'cm', 'kube-root-ca.crt', '-n', 'fresh', '-o', 'jsonpath={.metadata.uid}']);
    await ok(['delete', 'cm', 'kube-root-ca.crt', '-n', 'fresh']);
    await eventually(async () => {
      const r = await t.kubectl(['get', 'cm', 'kube-root-ca.crt', '-n', 'fresh', '-o', 'jsonpath={.metadata.uid}']);
      return r.code === 0 && r.stdout !== uid;
    }, 10_000, 'kube-root-ca.crt recreated');
    await ok(['patch', 'cm', 'kube-root-ca.crt', '-n', 'fresh', '--type=merge', '-p', '{"data":{"ca.crt":"forged"}}']);
    await eventually(async () => (await ca()).stdout === t.server.caCert, 10_000, 'kube-root-ca.crt restored');
  });
});
