// Shared building blocks for every vmsafe.io kind: names, addresses, metadata, conditions.
import { z } from 'zod';

export const GROUP = 'vmsafe.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
/** Provider and Baseline policies may live only here (DESIGN.md). */
export const PROVIDER_NAMESPACE = 'vmsafe-system';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const IPV4_PATTERN =
  '^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$';
export const CIDR_PATTERN =
  '^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/([0-9]|[12][0-9]|3[0-2])$';
export const MAC_PATTERN = '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$';
const IPV4_RE = new RegExp(IPV4_PATTERN);
const CIDR_RE = new RegExp(CIDR_PATTERN);
const MAC_RE = new RegExp(MAC_PATTERN);

const show = (v: unknown) => JSON.stringify(v);

export const dnsLabel = (what = 'name') =>
  z
    .string({ error: (i) => `${what} must be a string, got ${show(i.input)}` })
    .max(63, { error: (i) => `${show(i.input)} is longer than 63 characters` })
    .regex(DNS1123_LABEL, {
      error: (i) => `${show(i.input)} is not a valid ${what} (DNS-1123 label: lower-case letters, digits and '-')`,
    });

export const dnsSubdomain = (what = 'name') =>
  z
    .string()
    .max(253, { error: (i) => `${show(i.input)} is longer than 253 characters` })
    .regex(DNS1123_SUBDOMAIN, {
      error: (i) => `${show(i.input)} is not a valid ${what} (DNS-1123 subdomain)`,
    });

export const ipv4 = () =>
  z.string().regex(IPV4_RE, { error: (i) => `${show(i.input)} is not an IPv4 address` });

export const cidr = () =>
  z.string().regex(CIDR_RE, { error: (i) => `${show(i.input)} is not an IPv4 CIDR (a.b.c.d/len)` });

export const mac = () =>
  z.string().regex(MAC_RE, { error: (i) => `${show(i.input)} is not a MAC address (aa:bb:cc:dd:ee:ff)` });

export const port = () =>
  z
    .number()
    .int({ error: (i) => `${show(i.input)} is not an integer` })
    .min(0, { error: (i) => `${show(i.input)} is below 0` })
    .max(65535, { error: (i) => `${show(i.input)} is above 65535` });

export const count = () => z.number().int().min(0);

/** Tag names are DNS-1123 labels: they appear in selectors and printer output. */
export const tagName = () => dnsLabel('tag name');
export const tagList = () => z.array(tagName()).max(64);

export const labelSelectorRequirement = z.object({
  key: z.string().min(1).max(317),
  operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
  values: z.array(z.string().max(63)).optional(),
});

/**
 * Path of an own `__proto__` key in JSON data, or undefined. Every policy decode walks its spec, so
 * the walk is one for...in over JSON members (lists too) and the path is built only on a hit.
 */
function protoKeyPath(v: unknown, path: (string | number)[]): (string | number)[] | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const list = Array.isArray(v);
  if (!list && Object.hasOwn(v, '__proto__')) return [...path, '__proto__'];
  for (const k in v) {
    const x: unknown = (v as Record<string, unknown>)[k];
    if (x === null || typeof x !== 'object') continue;
    path.push(list ? Number(k) : k);
    const found = protoKeyPath(x, path);
    path.pop();
    if (found) return found;
  }
  return undefined;
}

/**
 * `schema`, refusing an own `__proto__` key anywhere in the input. zod's records leave such a key out
 * of what they return: a matchLabels `{__proto__: x}` (selects no VM: no VM can carry that label)
 * became `{}` (selects every VM). A preprocess sees the input; around a whole spec, as one inside it
 * would take the `default`s of the fields above it out of the CRD (zod's JSON Schema drops defaults
 * above a transform).
 */
export function refusingProtoKeys<T extends z.ZodType>(schema: T) {
  return z.preprocess((input, ctx) => {
    const path = protoKeyPath(input, []);
    if (path) ctx.addIssue({ code: 'custom', path, message: '"__proto__" is not a valid field or label key', input });
    return input;
  }, schema);
}

/** metav1.LabelSelector: matchLabels and matchExpressions are ANDed. */
export const labelSelector = z
  .object({
    matchLabels: z.record(z.string(), z.string().max(63)).optional(),
    matchExpressions: z.array(labelSelectorRequirement).optional(),
  })
  .superRefine((sel, ctx) => {
    (sel.matchExpressions ?? []).forEach((req, i) => {
      const needsValues = req.operator === 'In' || req.operator === 'NotIn';
      const n = req.values?.length ?? 0;
      if (needsValues && n === 0)
        ctx.addIssue({ code: 'custom', path: ['matchExpressions', i, 'values'], message: `operator ${req.operator} needs at least one value` });
      if (!needsValues && n > 0)
        ctx.addIssue({ code: 'custom', path: ['matchExpressions', i, 'values'], message: `operator ${req.operator} takes no values` });
    });
  });
export type LabelSelector = z.infer<typeof labelSelector>;

export const conditionStatus = z.enum(['True', 'False', 'Unknown']);

/** metav1.Condition. */
export const condition = z.object({
  type: z.string().min(1).max(316),
  status: conditionStatus,
  reason: z.string().min(1).max(1024),
  message: z.string().max(32768),
  observedGeneration: z.number().int().min(0).optional(),
  lastTransitionTime: z.string(),
});
export type Condition = z.infer<typeof condition>;
// A list map keyed by type, like metav1.Condition lists, so server-side apply merges per condition.
export const conditions = () =>
  z.array(condition).meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] }).optional();

export const ownerReference = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
});

/** ObjectMeta as far as we read it; everything else the server sets is kept as is. */
export const objectMeta = z.looseObject({
  name: dnsSubdomain('name'),
  namespace: dnsLabel('namespace').optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().int().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  finalizers: z.array(z.string()).optional(),
  ownerReferences: z.array(ownerReference).optional(),
});
export type ObjectMeta = z.infer<typeof objectMeta>;

/** Build the schema of a whole object of one kind. */
export function kindSchema<S extends z.ZodType, T extends z.ZodType>(kind: string, spec: S, status: T) {
  return z.object({
    apiVersion: z.literal(API_VERSION, { error: (i) => `apiVersion must be ${API_VERSION}, got ${show(i.input)}` }),
    kind: z.literal(kind),
    metadata: objectMeta,
    spec: spec.describe('Desired state.'),
    status: status.optional().describe('Observed state, written by the operator and the host agents.'),
  });
}
