// Decoding of the Kubernetes protobuf envelope ("k8s\0" + runtime.Unknown) for the built-ins that
// kubectl's generators send as protobuf (`kubectl create namespace|configmap|secret|serviceaccount|
// role|rolebinding|clusterrole|clusterrolebinding`). Field numbers from k8s.io/api generated.proto.
import { unsupportedMediaType } from './errors';
import { setOwn } from '../util/own-keys';

type Kind = 'string' | 'bytes' | 'int' | 'bool' | 'time' | { msg: Fields } | { map: 'string' | 'bytes' };
type Fields = Record<number, [name: string, kind: Kind, repeated?: boolean]>;

const time: Fields = { 1: ['seconds', 'int'], 2: ['nanos', 'int'] };
const ownerRef: Fields = {
  1: ['kind', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'], 5: ['apiVersion', 'string'],
  6: ['controller', 'bool'], 7: ['blockOwnerDeletion', 'bool'],
};
const objectMeta: Fields = {
  1: ['name', 'string'], 2: ['generateName', 'string'], 3: ['namespace', 'string'], 5: ['uid', 'string'],
  6: ['resourceVersion', 'string'], 7: ['generation', 'int'], 8: ['creationTimestamp', { msg: time }],
  11: ['labels', { map: 'string' }], 12: ['annotations', { map: 'string' }],
  13: ['ownerReferences', { msg: ownerRef }, true], 14: ['finalizers', 'string', true],
};
const policyRule: Fields = {
  1: ['verbs', 'string', true], 2: ['apiGroups', 'string', true], 3: ['resources', 'string', true],
  4: ['resourceNames', 'string', true], 5: ['nonResourceURLs', 'string', true],
};
const subject: Fields = { 1: ['kind', 'string'], 2: ['apiGroup', 'string'], 3: ['name', 'string'], 4: ['namespace', 'string'] };
const roleRef: Fields = { 1: ['apiGroup', 'string'], 2: ['kind', 'string'], 3: ['name', 'string'] };
const objectReference: Fields = { 1: ['kind', 'string'], 2: ['namespace', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'], 5: ['apiVersion', 'string'] };
const resourceAttributes: Fields = {
  1: ['namespace', 'string'], 2: ['verb', 'string'], 3: ['group', 'string'], 4: ['version', 'string'],
  5: ['resource', 'string'], 6: ['subresource', 'string'], 7: ['name', 'string'],
};
const nonResourceAttributes: Fields = { 1: ['path', 'string'], 2: ['verb', 'string'] };
const sarSpec: Fields = {
  1: ['resourceAttributes', { msg: resourceAttributes }], 2: ['nonResourceAttributes', { msg: nonResourceAttributes }],
  3: ['user', 'string'], 4: ['groups', 'string', true], 6: ['uid', 'string'],
};
const labelSelector: Fields = { 1: ['matchLabels', { map: 'string' }] };

const TYPES: Record<string, Fields> = {
  Namespace: { 1: ['metadata', { msg: objectMeta }], 2: ['spec', { msg: { 1: ['finalizers', 'string', true] } }] },
  ConfigMap: { 1: ['metadata', { msg: objectMeta }], 2: ['data', { map: 'string' }], 3: ['binaryData', { map: 'bytes' }], 4: ['immutable', 'bool'] },
  Secret: {
    1: ['metadata', { msg: objectMeta }], 2: ['data', { map: 'bytes' }], 3: ['type', 'string'],
    4: ['stringData', { map: 'string' }], 5: ['immutable', 'bool'],
  },
  ServiceAccount: {
    1: ['metadata', { msg: objectMeta }], 2: ['secrets', { msg: objectReference }, true],
    3: ['imagePullSecrets', { msg: { 1: ['name', 'string'] } }, true], 4: ['automountServiceAccountToken', 'bool'],
  },
  Role: { 1: ['metadata', { msg: objectMeta }], 2: ['rules', { msg: policyRule }, true] },
  ClusterRole: {
    1: ['metadata', { msg: objectMeta }], 2: ['rules', { msg: policyRule }, true],
    3: ['aggregationRule', { msg: { 1: ['clusterRoleSelectors', { msg: labelSelector }, true] } }],
  },
  RoleBinding: { 1: ['metadata', { msg: objectMeta }], 2: ['subjects', { msg: subject }, true], 3: ['roleRef', { msg: roleRef }] },
  ClusterRoleBinding: { 1: ['metadata', { msg: objectMeta }], 2: ['subjects', { msg: subject }, true], 3: ['roleRef', { msg: roleRef }] },
  // authorization.k8s.io / authentication.k8s.io reviews and TokenRequest (kubectl auth, create token).
  SelfSubjectAccessReview: { 1: ['metadata', { msg: objectMeta }], 2: ['spec', { msg: { 1: ['resourceAttributes', { msg: resourceAttributes }], 2: ['nonResourceAttributes', { msg: nonResourceAttributes }] } }] },
  LocalSubjectAccessReview: { 1: ['metadata', { msg: objectMeta }], 2: ['spec', { msg: sarSpec }] },
  SubjectAccessReview: { 1: ['metadata', { msg: objectMeta }], 2: ['spec', { msg: sarSpec }] },
  SelfSubjectRulesReview: { 1: ['metadata', { msg: objectMeta }], 2: ['spec', { msg: { 1: ['namespace', 'string'] } }] },
  SelfSubjectReview: { 1: ['metadata', { msg: objectMeta }] },
  TokenReview: { 1: ['metadata', { msg: objectMeta }], 2: ['spec', { msg: { 1: ['token', 'string'], 2: ['audiences', 'string', true] } }] },
  TokenRequest: {
    1: ['metadata', { msg: objectMeta }],
    2: ['spec', { msg: { 1: ['audiences', 'string', true], 3: ['boundObjectRef', { msg: { 1: ['kind', 'string'], 2: ['apiVersion', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'] } }], 4: ['expirationSeconds', 'int'] } }],
  },
};

const UNKNOWN: Fields = {
  1: ['typeMeta', { msg: { 1: ['apiVersion', 'string'], 2: ['kind', 'string'] } }],
  2: ['raw', 'bytes'],
};

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.buf[this.pos++];
      if (b === undefined) throw new Error('truncated varint');
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
    }
  }
  bytes(): Buffer {
    const n = Number(this.varint());
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire: number) {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

function decodeMessage(buf: Buffer, fields: Fields, raw = false): Record<string, any> {
  const r = new Reader(buf);
  const out: Record<string, any> = {};
  while (r.pos < buf.length) {
    const tag = Number(r.varint());
    const num = tag >>> 3;
    const wire = tag & 7;
    const f = fields[num];
    if (!f) {
      r.skip(wire);
      continue;
    }
    const [name, kind, repeated] = f;
    let value: unknown;
    if (kind === 'int') value = Number(BigInt.asIntN(64, r.varint()));
    else if (kind === 'bool') value = r.varint() !== 0n;
    else if (kind === 'string') value = r.bytes().toString('utf8');
    else if (kind === 'bytes') value = raw ? Buffer.from(r.bytes()) : r.bytes().toString('base64');
    else if (kind === 'time') value = r.bytes();
    else if ('map' in kind) {
      const entry = decodeMessage(r.bytes(), { 1: ['key', 'string'], 2: ['value', kind.map] });
      // Defined, as JSON.parse does: a map key `__proto__` is data (assigning it was dropped).
      setOwn((out[name] ??= {}), entry.key ?? '', entry.value ?? '');
      continue;
    } else {
      const sub = r.bytes();
      value = kind.msg === time ? timeToString(decodeMessage(sub, time)) : decodeMessage(sub, kind.msg);
    }
    if (repeated) (out[name] ??= []).push(value);
    // gogo-protobuf writes zero values; JSON clients omit them (omitempty): do the same.
    else if (value !== '' && value !== 0) out[name] = value;
  }
  return out;
}

function timeToString(t: Record<string, any>): string {
  return new Date((t.seconds ?? 0) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';

/** k8s protobuf body -> JSON-shaped object (apiVersion/kind from the envelope). */
export function decodeK8sProtobuf(buf: Buffer): Record<string, any> {
  if (buf.length < 4 || buf.subarray(0, 4).toString('latin1') !== 'k8s\0')
    throw unsupportedMediaType('protobuf body without the k8s envelope');
  const unknown = decodeMessage(buf.subarray(4), UNKNOWN, true);
  const kind = unknown.typeMeta?.kind as string | undefined;
  const fields = kind && Object.hasOwn(TYPES, kind) ? TYPES[kind] : undefined;
  if (!fields)
    throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (protobuf is supported only for ${Object.keys(TYPES).join(', ')})`);
  const obj = decodeMessage(unknown.raw ?? Buffer.alloc(0), fields);
  return { apiVersion: unknown.typeMeta.apiVersion, kind, ...obj };
}
