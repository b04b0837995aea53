// What the server serves: built-in resources and the resources CRDs define, with the facts
// discovery, routing, validation, tables and the write strategies need.
import type { ValidateFunction } from 'ajv';
import { compileRules, type RuleNode } from './cel/rules';
import { compileValidator, type Schema } from './schema';
import type { Obj } from './store';
import { age, ageColumn, col, crdColumns, nameColumn, type TableColumn } from './table';
import { WORKLOAD_KINDS } from './workloads';

export interface ResourceDef {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
  /** Storage key shared by every version (and by core/events.k8s.io Events). */
  key: string;
  statusSubresource: boolean;
  columns: TableColumn[];
  /** Field selector labels beyond metadata.name / metadata.namespace. */
  fieldLabels: string[];
  /** generation: 'cr' bumps on any non-metadata, non-status change; 'none' never sets it. */
  generation: 'cr' | 'none';
  /** Unconditional updates (no resourceVersion) allowed? (false for custom resources) */
  allowUnconditionalUpdate: boolean;
  /** Delete responds with the object (true) or a Success Status. */
  deleteReturnsObject: boolean;
  /** Custom resources: structural schema and compiled validator. */
  schema?: Schema;
  validator?: ValidateFunction;
  /** Custom resources: compiled `x-kubernetes-validations` (CEL), when the schema has any. */
  rules?: RuleNode;
  /** Request-version object -> storage form, and back (events.k8s.io <-> core Event). */
  toStorage?: (o: Obj) => Obj;
  fromStorage?: (o: Obj) => Obj;
  /** The CRD this came from (name), if any. */
  crd?: string;
  /** Strategic merge patch accepted (built-ins only). */
  strategicMerge: boolean;
  /** Built-ins: top-level fields besides apiVersion/kind/metadata (unknown ones fail Strict validation). */
  fields?: string[];
}

export const gvr = (group: string, version: string, plural: string) => `${group}/${version}/${plural}`;
export const apiVersionOf = (d: { group: string; version: string }) => (d.group ? `${d.group}/${d.version}` : d.version);

function builtin(
  p: Partial<ResourceDef> & Pick<ResourceDef, 'group' | 'version' | 'kind' | 'plural' | 'namespaced'>,
): ResourceDef {
  return {
    listKind: `${p.kind}List`,
    singular: p.kind.toLowerCase(),
    shortNames: [],
    categories: [],
    key: `${p.group}/${p.plural}`,
    statusSubresource: false,
    columns: [nameColumn, ageColumn],
    fieldLabels: [],
    generation: 'none',
    allowUnconditionalUpdate: true,
    deleteReturnsObject: false,
    strategicMerge: true,
    ...p,
  };
}

const count = (o: unknown) => (o && typeof o === 'object' ? Object.keys(o).length : 0);

// ---- Event: one storage (core/v1 shape), two APIs.
function eventToEventsV1(o: Obj): Obj {
  const { involvedObject, message, source, firstTimestamp, lastTimestamp, count: n, reportingComponent, ...rest } = o;
  const out: Obj = { ...rest, apiVersion: 'events.k8s.io/v1', kind: 'Event' };
  if (involvedObject) out.regarding = involvedObject;
  if (message !== undefined) out.note = message;
  if (source && Object.keys(source).length) out.deprecatedSource = source;
  if (firstTimestamp) out.deprecatedFirstTimestamp = firstTimestamp;
  if (lastTimestamp) out.deprecatedLastTimestamp = lastTimestamp;
  if (n !== undefined) out.deprecatedCount = n;
  if (reportingComponent !== undefined) out.reportingController = reportingComponent;
  return out;
}
function eventFromEventsV1(o: Obj): Obj {
  const { regarding, note, deprecatedSource, deprecatedFirstTimestamp, deprecatedLastTimestamp, deprecatedCount, reportingController, ...rest } = o;
  const out: Obj = { ...rest, apiVersion: 'v1', kind: 'Event' };
  if (regarding) out.involvedObject = regarding;
  if (note !== undefined) out.message = note;
  if (deprecatedSource) out.source = deprecatedSource;
  if (deprecatedFirstTimestamp) out.firstTimestamp = deprecatedFirstTimestamp;
  if (deprecatedLastTimestamp) out.lastTimestamp = deprecatedLastTimestamp;
  if (deprecatedCount !== undefined) out.count = deprecatedCount;
  if (reportingController !== undefined) out.reportingComponent = reportingController;
  return out;
}
const eventLastSeen = (o: Obj, now: number) => {
  const t = o.series?.lastObservedTime ?? o.lastTimestamp ?? o.eventTime ?? o.firstTimestamp ?? o.metadata?.creationTimestamp;
  return age(t, now);
};
const eventObject = (o: Obj) => {
  const io = o.involvedObject ?? {};
  return `${String(io.kind ?? '').toLowerCase()}/${io.name ?? ''}`;
};
const EVENT_FIELDS = [
  'involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid',
  'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason',
  'reportingComponent', 'source', 'type',
];
const eventColumns: TableColumn[] = [
  col('Last Seen', 'string', eventLastSeen),
  col('Type', 'string', (o) => o.type),
  col('Reason', 'string', (o) => o.reason),
  col('Object', 'string', eventObject),
  col('Subobject', 'string', (o) => o.involvedObject?.fieldPath ?? '', 1),
  col('Source', 'string', (o) => o.source?.component ?? o.reportingComponent ?? '', 1),
  col('Message', 'string', (o) => o.message),
  col('First Seen', 'string', (o, now) => age(o.firstTimestamp ?? o.eventTime, now), 1),
  col('Count', 'string', (o) => String(o.count ?? o.series?.count ?? 1), 1),
  col('Name', 'string', (o) => o.metadata?.name, 1),
];

const createdAt = col('Created At', 'date', (o) => o.metadata?.creationTimestamp);
const roleRef = col('Role', 'string', (o) => `${o.roleRef?.kind ?? ''}/${o.roleRef?.name ?? ''}`);
const subjects = (kind: string) => (o: Obj) =>
  (o.subjects ?? []).filter((s: Obj) => s.kind === kind).map((s: Obj) => (kind === 'ServiceAccount' ? `${s.namespace ?? ''}/${s.name}` : s.name)).join(', ');
const bindingColumns = [
  nameColumn, roleRef, ageColumn,
  col('Users', 'string', subjects('User'), 1), col('Groups', 'string', subjects('Group'), 1),
  col('ServiceAccounts', 'string', subjects('ServiceAccount'), 1),
];

export const BUILTINS: ResourceDef[] = [
  builtin({
    group: '', version: 'v1', kind: 'Namespace', fields: ['spec', 'status'],  plural: 'namespaces', namespaced: false, shortNames: ['ns'],
    statusSubresource: true, fieldLabels: ['status.phase'], deleteReturnsObject: true,
    columns: [nameColumn, col('Status', 'string', (o) => o.status?.phase), ageColumn],
  }),
  builtin({
    group: '', version: 'v1', kind: 'ConfigMap', fields: ['data', 'binaryData', 'immutable'],  plural: 'configmaps', namespaced: true, shortNames: ['cm'],
    columns: [nameColumn, col('Data', 'string', (o) => String(count(o.data) + count(o.binaryData))), ageColumn],
  }),
  builtin({
    group: '', version: 'v1', kind: 'Secret', fields: ['data', 'stringData', 'type', 'immutable'],  plural: 'secrets', namespaced: true, fieldLabels: ['type'],
    columns: [nameColumn, col('Type', 'string', (o) => o.type), col('Data', 'string', (o) => String(count(o.data))), ageColumn],
  }),
  builtin({
    group: '', version: 'v1', kind: 'ServiceAccount', fields: ['secrets', 'imagePullSecrets', 'automountServiceAccountToken'],  plural: 'serviceaccounts', namespaced: true, shortNames: ['sa'],
    columns: [nameColumn, col('Secrets', 'string', (o) => String((o.secrets ?? []).length)), ageColumn],
  }),
  builtin({
    group: '', version: 'v1', kind: 'Event', plural: 'events', namespaced: true, shortNames: ['ev'],
    fields: ['involvedObject', 'reason', 'message', 'source', 'firstTimestamp', 'lastTimestamp', 'count', 'type', 'eventTime', 'series', 'action', 'related', 'reportingComponent', 'reportingInstance'],
    fieldLabels: EVENT_FIELDS, columns: eventColumns,
  }),
  builtin({
    group: 'events.k8s.io', version: 'v1', kind: 'Event', plural: 'events', namespaced: true, shortNames: ['ev'],
    key: '/events',
    fields: ['eventTime', 'series', 'reportingController', 'reportingInstance', 'action', 'reason', 'regarding', 'related', 'note', 'type', 'deprecatedSource', 'deprecatedFirstTimestamp', 'deprecatedLastTimestamp', 'deprecatedCount'],
    // Rows are built from this version's shape (regarding, note): the same columns, read through the core form.
    fieldLabels: EVENT_FIELDS, columns: eventColumns.map((c) => ({ ...c, cell: (o: Obj, now: number) => c.cell(eventFromEventsV1(o), now) })),
    toStorage: eventFromEventsV1, fromStorage: eventToEventsV1,
  }),
  builtin({
    group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', fields: ['spec'],  plural: 'leases', namespaced: true,
    columns: [nameColumn, col('Holder', 'string', (o) => o.spec?.holderIdentity ?? ''), ageColumn],
  }),
  builtin({
    group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', fields: ['rules'],  plural: 'roles', namespaced: true,
    columns: [nameColumn, createdAt],
  }),
  builtin({
    group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', fields: ['rules', 'aggregationRule'],  plural: 'clusterroles', namespaced: false,
    columns: [nameColumn, createdAt],
  }),
  builtin({
    group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', fields: ['subjects', 'roleRef'],  plural: 'rolebindings', namespaced: true,
    columns: bindingColumns,
  }),
  builtin({
    group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRoleBinding', fields: ['subjects', 'roleRef'],  plural: 'clusterrolebindings',
    namespaced: false, columns: bindingColumns,
  }),
  builtin({
    group: 'admissionregistration.k8s.io', version: 'v1', kind: 'ValidatingAdmissionPolicy', plural: 'validatingadmissionpolicies',
    namespaced: false, fields: ['spec', 'status'], generation: 'cr', statusSubresource: true, strategicMerge: false, deleteReturnsObject: true,
    columns: [nameColumn, col('Validations', 'string', (o) => String((o.spec?.validations ?? []).length)), col('ParamKind', 'string', (o) => o.spec?.paramKind?.kind ?? '<unset>'), ageColumn],
  }),
  builtin({
    group: 'admissionregistration.k8s.io', version: 'v1', kind: 'ValidatingAdmissionPolicyBinding', plural: 'validatingadmissionpolicybindings',
    namespaced: false, fields: ['spec'], generation: 'cr', strategicMerge: false, deleteReturnsObject: true,
    columns: [nameColumn, col('PolicyName', 'string', (o) => o.spec?.policyName ?? ''), col('ParamRef', 'string', (o) => (o.spec?.paramRef ? JSON.stringify(o.spec.paramRef) : '<unset>')), ageColumn],
  }),
  builtin({
    group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions',
    namespaced: false, shortNames: ['crd', 'crds'], categories: ['api-extensions'], statusSubresource: true,
    generation: 'cr', deleteReturnsObject: true, strategicMerge: false, columns: [nameColumn, createdAt],
  }),
  ...WORKLOAD_KINDS.map((w) => builtin(w)),
];

/** One ResourceDef per served version of a CRD (schema compiled here). */
export function defsFromCrd(crd: Obj): ResourceDef[] {
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  const defs: ResourceDef[] = [];
  for (const v of spec.versions ?? []) {
    if (v.served === false) continue;
    const schema: Schema | undefined = v.schema?.openAPIV3Schema;
    defs.push({
      group: spec.group,
      version: v.name,
      kind: names.kind,
      listKind: names.listKind ?? `${names.kind}List`,
      plural: names.plural,
      singular: names.singular ?? String(names.kind).toLowerCase(),
      shortNames: names.shortNames ?? [],
      categories: names.categories ?? [],
      namespaced: spec.scope === 'Namespaced',
      key: `${spec.group}/${names.plural}`,
      statusSubresource: v.subresources?.status !== undefined,
      columns: crdColumns(v.additionalPrinterColumns),
      fieldLabels: (v.selectableFields ?? []).map((f: Obj) => String(f.jsonPath).replace(/^\./, '')),
      generation: 'cr',
      allowUnconditionalUpdate: false,
      deleteReturnsObject: true,
      schema,
      validator: schema ? compileValidator(schema) : undefined,
      rules: compileRules(schema).tree,
      crd: crd.metadata?.name,
      strategicMerge: false,
    });
  }
  return defs;
}

const statusWriteDefs = new WeakMap<ResourceDef, ResourceDef | null>();

/**
 * The def a status-subresource write validates with when the object's spec is the one stored (shared,
 * not copied): the same schema, rules and validator but with a spec that accepts anything, so the
 * unchanged spec of a 160 KB HostFilter is not pruned, defaulted and validated again on every status
 * report. Like kube-apiserver's CRD validation ratcheting (GA in 1.33), which does not fail a write
 * for values it did not change. undefined when the schema has no object spec or its rules do not
 * compile without one (then the whole object is validated). Built once per def.
 */
export function statusWriteDef(def: ResourceDef): ResourceDef | undefined {
  const cached = statusWriteDefs.get(def);
  if (cached !== undefined) return cached ?? undefined;
  let out: ResourceDef | null = null;
  const props = def.schema?.properties as Record<string, Schema> | undefined;
  if (def.schema && props?.spec?.type === 'object') {
    const required = ((def.schema.required as string[] | undefined) ?? []).filter((r) => r !== 'spec');
    const schema: Schema = { ...def.schema, properties: { ...props, spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } };
    if (required.length) schema.required = required;
    else delete schema.required;
    const rules = compileRules(schema);
    if (rules.errors.length === 0) out = { ...def, schema, validator: compileValidator(schema), rules: rules.tree };
  }
  statusWriteDefs.set(def, out);
  return out ?? undefined;
}

/** Lookup tables over the current set of resources (rebuilt when CRDs change). */
export class Registry {
  private byGvr = new Map<string, ResourceDef>();
  private crdDefs = new Map<string, ResourceDef[]>();
  /** Bumped on every change; discovery/openapi caches key on it. */
  generation = 0;

  constructor() {
    for (const d of BUILTINS) this.byGvr.set(gvr(d.group, d.version, d.plural), d);
  }

  get(group: string, version: string, plural: string): ResourceDef | undefined {
    return this.byGvr.get(gvr(group, version, plural));
  }

  all(): ResourceDef[] {
    return [...this.byGvr.values()];
  }

  /** Resources of one group/version. */
  inGroupVersion(group: string, version: string): ResourceDef[] {
    return this.all().filter((d) => d.group === group && d.version === version);
  }

  /** Every def sharing one storage key (all versions). */
  byKey(key: string): ResourceDef[] {
    return this.all().filter((d) => d.key === key);
  }

  crdResources(crdName: string): ResourceDef[] {
    return this.crdDefs.get(crdName) ?? [];
  }

  setCrd(crdName: string, defs: ResourceDef[]) {
    this.removeCrd(crdName);
    this.crdDefs.set(crdName, defs);
    for (const d of defs) this.byGvr.set(gvr(d.group, d.version, d.plural), d);
    this.generation++;
  }

  removeCrd(crdName: string) {
    for (const d of this.crdDefs.get(crdName) ?? []) this.byGvr.delete(gvr(d.group, d.version, d.plural));
    this.crdDefs.delete(crdName);
    this.generation++;
  }

  /** Groups in discovery order: core first, then built-in groups, then CRD groups. */
  groups(): { name: string; versions: string[] }[] {
    const out = new Map<string, string[]>();
    for (const d of this.all()) {
      const vs = out.get(d.group) ?? [];
      if (!vs.includes(d.version)) vs.push(d.version);
      out.set(d.group, vs);
    }
    return [...out.entries()].map(([name, versions]) => ({ name, versions: sortVersions(versions) }));
  }
}

/** Kube version priority: GA > beta > alpha, higher numbers first. */
export function sortVersions(vs: string[]): string[] {
  const rank = (v: string) => {
    const m = v.match(/^v(\d+)(?:(alpha|beta)(\d+))?$/);
    if (!m) return [3, 0, 0, v] as const;
    const stage = m[2] === undefined ? 0 : m[2] === 'beta' ? 1 : 2;
    return [stage, -Number(m[1]), -Number(m[3] ?? 0), v] as const;
  };
  return [...vs].sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return (ra[i] as number) - (rb[i] as number);
    return a < b ? -1 : 1;
  });
}
