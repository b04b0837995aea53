// Fixture builders for vmsafe.io objects: short to write, and decoded through the same zod schemas as
// the API server uses, so a fixture that would be rejected by a cluster throws here, naming the field.
import { API_VERSION, decode, type Host, type SecurityPolicy, type Tag, type Tenant, type VM } from '../api';

type Meta = { name: string; namespace?: string; labels?: Record<string, string> };

/** Decode or throw "Kind/name: path: message; ...". */
export function build<T>(kind: string, metadata: Meta, spec: unknown): T {
  const d = decode({ apiVersion: API_VERSION, kind, metadata, spec });
  if (!d.ok) throw new Error(`${kind}/${metadata.name}: ${d.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  return d.value as T;
}

const meta = (name: string, labels?: Record<string, string>, namespace?: string): Meta => ({
  name,
  ...(namespace ? { namespace } : {}),
  ...(labels ? { labels } : {}),
});

export const tenant = (name: string, spec: Record<string, unknown> = {}, labels?: Record<string, string>): Tenant =>
  build('Tenant', meta(name, labels), spec);

export const tag = (name: string, spec: Record<string, unknown> = {}): Tag => build('Tag', meta(name), spec);

/** A host carrying `networks` (names, or full network specs) and `tags`. */
export const host = (name: string, spec: { tags?: string[]; networks?: (string | Record<string, unknown>)[]; [k: string]: unknown } = {}): Host =>
  build('Host', meta(name), {
    ...spec,
    networks: (spec.networks ?? []).map((n, i) => (typeof n === 'string' ? { name: n, vlan: 100 + i } : n)),
  });

/** A VM in `namespace` ("ns/name"); vNICs as {name, network, ip, mac}, MACs filled in when left out. */
export function vm(ref: string, spec: { vnics: { name: string; network: string; ip: string; mac?: string }[]; [k: string]: unknown }, labels?: Record<string, string>): VM {
  const [namespace, name] = splitRef(ref);
  const vnics = spec.vnics.map((v) => ({ ...v, mac: v.mac ?? macFor(v.ip) }));
  return build('VM', meta(name, labels, namespace), { ...spec, vnics });
}

/** A SecurityPolicy "ns/name" with the given spec (appliesTo, ingress, egress, tier...). */
export function securityPolicy(ref: string, spec: Record<string, unknown>): SecurityPolicy {
  const [namespace, name] = splitRef(ref);
  return build('SecurityPolicy', meta(name, undefined, namespace), spec);
}

function splitRef(ref: string): [string, string] {
  const parts = ref.split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1]) throw new Error(`"${ref}" is not NAMESPACE/NAME`);
  return [parts[0], parts[1]];
}

/** A locally administered MAC derived from an IPv4 address (unique per IP). */
function macFor(ip: string): string {
  const o = ip.split('.').map((x) => Number(x).toString(16).padStart(2, '0'));
  return ['02', '00', ...o].join(':');
}
