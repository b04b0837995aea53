// decideRootCa (the kube-root-ca.crt publisher's pure decision) and the /openapi/v2 Accept negotiation.
import { describe, expect, it } from 'vitest';
import { decideRootCa, rootCaConfigMap } from '../../src/apiserver/rootca';
import { wantsV2Protobuf } from '../../src/apiserver/openapi-v2';

const CA = '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n';
const ns = (name: string, terminating = false) => ({ metadata: { name, ...(terminating ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) } });
const published = (extra: (o: any) => void = () => undefined) => {
  const o: any = rootCaConfigMap('a', CA);
  extra(o);
  return o;
};

describe('decideRootCa', () => {
  it.each([
    ['no namespace', undefined, undefined, 'none'],
    ['terminating namespace', ns('a', true), undefined, 'none'],
    ['missing ConfigMap', ns('a'), undefined, 'create'],
    ['as published', ns('a'), published(), 'none'],
    ['ConfigMap being deleted', ns('a'), published((o) => (o.metadata.deletionTimestamp = '2026-01-01T00:00:00Z')), 'none'],
    ['forged ca.crt', ns('a'), published((o) => (o.data['ca.crt'] = 'forged')), 'update'],
    ['an extra key', ns('a'), published((o) => (o.data.extra = 'x')), 'update'],
    ['binaryData added', ns('a'), published((o) => (o.binaryData = { b: 'eA==' })), 'update'],
    ['description removed', ns('a'), published((o) => delete o.metadata.annotations), 'update'],
  ] as const)('%s -> %s', (_what, n, cm, want) => {
    expect(decideRootCa(n, cm, CA)).toBe(want);
  });
});

describe('/openapi/v2 negotiation', () => {
  it.each([
    [undefined, false],
    ['application/json', false],
    ['application/com.github.proto-openapi.spec.v2@v1.0+protobuf', true],
    ['application/com.github.proto-openapi.spec.v2.v1.0+protobuf', true],
    ['application/json, application/com.github.proto-openapi.spec.v2@v1.0+protobuf', false],
    ['application/com.github.proto-openapi.spec.v2@v1.0+protobuf, application/json', true],
    ['*/*', false],
  ])('Accept %s -> protobuf %s', (accept, want) => {
    expect(wantsV2Protobuf(accept)).toBe(want);
  });
});
