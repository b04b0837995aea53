// CRD `x-kubernetes-validations` (CEL) evaluated by the embedded server as kube-apiserver does:
// per node, transition rules on update only, kube's 422 wording and field paths, bounded cost.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileRules, validateRules } from '../../src/apiserver/cel/rules';
import { startTestApiServer, type TestApiServer } from '../helpers/apiserver';

const schema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      'x-kubernetes-validations': [
        { rule: 'self.replicas <= self.max', message: 'replicas must not exceed max', fieldPath: '.replicas' },
        { rule: 'self.mode == oldSelf.mode', message: 'mode is immutable' },
        { rule: 'size(self.items) <= 3', messageExpression: "'at most 3 items, got ' + string(size(self.items))" },
      ],
      properties: {
        replicas: { type: 'integer' },
        max: { type: 'integer' },
        mode: { type: 'string' },
        name: { type: 'string', 'x-kubernetes-validations': [{ rule: "self.matches('^[a-z]+$')", reason: 'FieldValueForbidden', message: 'lowercase letters only' }] },
        items: {
          type: 'array',
          items: { type: 'object', properties: { n: { type: 'integer' } }, 'x-kubernetes-validations': [{ rule: 'self.n >= 0' }] },
        },
        pairs: { type: 'array', items: { type: 'integer' }, 'x-kubernetes-validations': [{ rule: 'self.all(a, self.all(b, a != b || a == b))' }] },
      },
    },
  },
};
const { tree, errors } = compileRules(schema);
const check = (spec: object, old?: object) => validateRules(tree!, { spec }, old && { spec: old });

describe('CEL validation rules (pure)', () => {
  it('compiles every rule of the schema', () => {
    expect(errors).toEqual([]);
    expect(tree).toBeDefined();
  });

  it.each([
    ['a valid object', { replicas: 1, max: 2, mode: 'a', items: [] }, undefined, []],
    ['a false rule with fieldPath and message', { replicas: 3, max: 2, mode: 'a', items: [] }, undefined,
      [{ reason: 'FieldValueInvalid', field: 'spec.replicas', message: 'Invalid value: "object": replicas must not exceed max' }]],
    ['messageExpression', { replicas: 1, max: 2, mode: 'a', items: [{ n: 1 }, { n: 1 }, { n: 1 }, { n: 1 }] }, undefined,
      [{ reason: 'FieldValueInvalid', field: 'spec', message: 'Invalid value: "object": at most 3 items, got 4' }]],
    ['a rule per array item, at the item path', { replicas: 1, max: 2, mode: 'a', items: [{ n: 1 }, { n: -1 }] }, undefined,
      [{ reason: 'FieldValueInvalid', field: 'spec.items[1]', message: 'Invalid value: "object": failed rule: self.n >= 0' }]],
    ['reason Forbidden', { replicas: 1, max: 2, mode: 'a', items: [], name: 'ABC' }, undefined,
      [{ reason: 'FieldValueForbidden', field: 'spec.name', message: 'Forbidden: lowercase letters only' }]],
    ['a transition rule is skipped on create', { replicas: 1, max: 2, mode: 'b', items: [] }, undefined, []],
    ['a transition rule on update', { replicas: 1, max: 2, mode: 'b', items: [] }, { replicas: 1, max: 2, mode: 'a', items: [] },
      [{ reason: 'FieldValueInvalid', field: 'spec', message: 'Invalid value: "object": mode is immutable' }]],
    ['an evaluation error names the rule', { max: 2, mode: 'a', items: [] }, undefined,
      [{ reason: 'FieldValueInvalid', field: 'spec', message: expect.stringMatching(/^Invalid value: "object": .* evaluating rule: replicas must not exceed max$/) }]],
  ])('%s', (_name, spec, old, want) => {
    expect(check(spec, old)).toEqual(want);
  });

  it('refuses a call whose cost bound is over the limit instead of running it', () => {
    const pairs = Array.from({ length: 2_000 }, (_, i) => i);
    const causes = check({ replicas: 1, max: 2, mode: 'a', items: [], pairs });
    expect(causes).toEqual([expect.objectContaining({ field: 'spec.pairs', message: expect.stringContaining('call cost exceeds limit') })]);
  });

  it('reports a rule that does not compile, with its path in the schema', () => {
    const r = compileRules({ type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-validations': [{ rule: 'self.a +' }] } } });
    expect(r.errors).toEqual([expect.objectContaining({ path: 'properties[spec].x-kubernetes-validations[0].rule', value: 'self.a +' })]);
  });

  it('never throws on arbitrary objects, and __proto__ keys are plain data', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.jsonValue({ maxDepth: 4 }), (spec, old) => {
        const causes = validateRules(tree!, { spec }, { spec: old });
        for (const c of causes) expect(typeof c.message).toBe('string');
      }),
      { numRuns: 300 },
    );
    expect(check(JSON.parse('{"replicas":1,"max":2,"mode":"a","items":[],"__proto__":{"replicas":9}}'))).toEqual([]);
  });
});

describe('CEL validation rules (over HTTP, with kubectl)', () => {
  let t: TestApiServer;
  beforeAll(async () => {
    t = await startTestApiServer();
  });
  afterAll(async () => {
    await t?.close();
  });

  const policy = (peers: object[]) => ({
    apiVersion: 'vmsafe.io/v1alpha1',
    kind: 'SecurityPolicy',
    metadata: { name: 'p', namespace: 'default' },
    spec: { tier: 'Tenant', ingress: [{ name: 'r', action: 'Allow', peers }] },
  });

  it('rejects a peer with two kinds (the fail-open reproduction) with 422 naming the field', async () => {
    const r = await t.kubectl(['apply', '-f', '-'], { input: JSON.stringify(policy([{ cidr: { cidr: '10.0.0.0/8' }, sameTenant: true }])) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.ingress[0].peers[0]: Invalid value: "object": exactly one of');
    const http = await t.request('POST', '/apis/vmsafe.io/v1alpha1/namespaces/default/securitypolicies', { body: policy([{ cidr: { cidr: '10.0.0.0/8' }, sameTenant: true }]) });
    expect(http.status).toBe(422);
    expect(http.body).toMatchObject({ reason: 'Invalid', details: { causes: [expect.objectContaining({ field: 'spec.ingress[0].peers[0]', reason: 'FieldValueInvalid' })] } });
  });

  it('accepts a valid object and rejects an update that breaks a rule, leaving the stored object as it was', async () => {
    const ok = await t.kubectl(['apply', '-f', '-'], { input: JSON.stringify(policy([{ sameTenant: true }])) });
    expect(ok.code).toBe(0);
    const bad = await t.request('PATCH', '/apis/vmsafe.io/v1alpha1/namespaces/default/securitypolicies/p', {
      body: { spec: { ingress: [{ name: 'r', action: 'Allow', ports: [{ protocol: 'TCP', port: 90, endPort: 80 }] }] } },
      headers: { 'Content-Type': 'application/merge-patch+json' },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.details.causes).toEqual([expect.objectContaining({ field: 'spec.ingress[0].ports[0].endPort', message: 'Invalid value: "object": endPort is below port' })]);
    const got = await t.request('GET', '/apis/vmsafe.io/v1alpha1/namespaces/default/securitypolicies/p');
    expect(got.body.spec.ingress[0].peers).toEqual([{ sameTenant: true }]);
  });

  it('rejects a CRD whose rule does not compile', async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com', scope: 'Namespaced', names: { plural: 'widgets', kind: 'Widget' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-validations': [{ rule: 'self.a ==' }] } } } } }],
      },
    };
    const r = await t.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: crd });
    expect(r.status).toBe(422);
    expect(r.body.details.causes[0]).toMatchObject({ field: 'spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule' });
  });
});
