// ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1), as kube-apiserver evaluates it: a
// policy's matchConstraints and a binding's matchResources pick the requests (resource rules with
// `*` and subresources, namespace and object label selectors), matchConditions (CEL) narrow them,
// variables are computed once, and each validation's expression must be true, or the request is
// refused with the policy's message. Evaluation errors follow failurePolicy (Fail by default).
// Parameters (paramKind) are not supported: a binding that names params denies with a clear reason.
import type { LabelSelector } from '../../api/common';
import { selectorMatches } from '../../api/label-selector';
import type { StatusCause } from '../errors';
import { compileExpression, type CompiledExpression } from '../cel/env';
import { toCel } from '../cel/values';

type Obj = Record<string, any>;

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** What admission sees of one request (admission.Attributes). */
export interface AdmissionAttributes {
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  group: string;
  version: string;
  kind: string;
  /** Plural resource name, e.g. `vms`. */
  resource: string;
  subResource?: string;
  namespace?: string;
  name: string;
  object?: Obj;
  oldObject?: Obj;
  userInfo: UserInfo;
  dryRun: boolean;
  /** The namespace object for namespaced requests (labels drive namespaceSelector). */
  namespaceObject?: Obj;
}

export interface Denial {
  code: number;
  reason: string;
  message: string;
}

interface CompiledValidation {
  expr?: CompiledExpression;
  error?: string;
  source: string;
  message?: string;
  messageExpression?: CompiledExpression;
  reason?: string;
}

interface CompiledPolicy {
  name: string;
  resourceVersion: string;
  spec: Obj;
  failClosed: boolean;
  matchConditions: { name: string; expr?: CompiledExpression; error?: string }[];
  variables: { name: string; expr?: CompiledExpression; error?: string }[];
  validations: CompiledValidation[];
}

const compiled = new Map<string, CompiledPolicy>();

function compileOrError(source: unknown): { expr?: CompiledExpression; error?: string } {
  const c = compileExpression(String(source ?? ''));
  return 'error' in c ? { error: c.error } : { expr: c };
}

/** Compiled form of a stored policy, cached per resourceVersion. */
function compilePolicy(p: Obj): CompiledPolicy {
  const name = String(p.metadata?.name ?? '');
  const rv = String(p.metadata?.resourceVersion ?? '');
  const hit = compiled.get(name);
  if (hit && hit.resourceVersion === rv) return hit;
  const spec = p.spec ?? {};
  const out: CompiledPolicy = {
    name,
    resourceVersion: rv,
    spec,
    failClosed: spec.failurePolicy !== 'Ignore',
    matchConditions: (spec.matchConditions ?? []).map((m: Obj) => ({ name: String(m.name ?? ''), ...compileOrError(m.expression) })),
    variables: (spec.variables ?? []).map((v: Obj) => ({ name: String(v.name ?? ''), ...compileOrError(v.expression) })),
    validations: (spec.validations ?? []).map((v: Obj) => {
      const m = v.messageExpression ? compileExpression(String(v.messageExpression)) : undefined;
      return {
        ...compileOrError(v.expression),
        source: String(v.expression ?? ''),
        message: typeof v.message === 'string' ? v.message : undefined,
        messageExpression: m && !('error' in m) ? m : undefined,
        reason: typeof v.reason === 'string' ? v.reason : undefined,
      };
    }),
  };
  compiled.set(name, out);
  return out;
}

/** Problems with a policy's expressions, for create/update validation (kube rejects these). */
export function policyErrors(p: Obj): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = p.spec ?? {};
  const check = (list: Obj[] | undefined, field: string, key = 'expression') =>
    (list ?? []).forEach((item, i) => {
      const c = compileExpression(String(item?.[key] ?? ''));
      if ('error' in c) causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(String(item?.[key] ?? ''))}: compilation failed: ${c.error}`, field: `spec.${field}[${i}].${key}` });
    });
  check(spec.validations, 'validations');
  check(spec.matchConditions, 'matchConditions');
  check(spec.variables, 'variables');
  if (!Array.isArray(spec.validations) || spec.validations.length === 0)
    causes.push({ reason: 'FieldValueRequired', message: 'Required value: validations or auditAnnotations must contain at least one item', field: 'spec.validations' });
  return causes;
}

// ---------------------------------------------------------------- matching

const anyOf = (list: unknown, value: string) => Array.isArray(list) && list.some((x) => x === '*' || x === value);

/** One NamedRuleWithOperations against the request: `vms`, `vms/status`, `*`, `*\/status`, `vms/*`. */
function ruleMatches(rule: Obj, a: AdmissionAttributes): boolean {
  if (!anyOf(rule.operations, a.operation) || !anyOf(rule.apiGroups, a.group) || !anyOf(rule.apiVersions, a.version)) return false;
  const scope = rule.scope ?? '*';
  if (scope === 'Namespaced' && !a.namespace) return false;
  if (scope === 'Cluster' && a.namespace) return false;
  if (Array.isArray(rule.resourceNames) && rule.resourceNames.length && !rule.resourceNames.includes(a.name)) return false;
  const want = a.subResource ? `${a.resource}/${a.subResource}` : a.resource;
  return (rule.resources ?? []).some((r: string) => {
    if (r === '*') return !a.subResource;
    if (r === '*/*') return true;
    const [res, sub] = r.split('/');
    if (sub === undefined) return r === want;
    return (res === '*' || res === a.resource) && (sub === '*' ? a.subResource !== undefined : sub === a.subResource);
  });
}

/** metav1.LabelSelector semantics; an absent selector matches everything. */
const matches = (selector: Obj | undefined, labels: Record<string, string> | undefined): boolean =>
  !selector || selectorMatches(selector as LabelSelector, labels ?? {});

function resourcesMatch(m: Obj | undefined, a: AdmissionAttributes, requireRules: boolean): boolean {
  if (!m) return !requireRules;
  const rules: Obj[] = m.resourceRules ?? [];
  if (requireRules || rules.length) if (!rules.some((r) => ruleMatches(r, a))) return false;
  if ((m.excludeResourceRules ?? []).some((r: Obj) => ruleMatches(r, a))) return false;
  // A namespaceSelector applies to namespaced objects (and to Namespaces themselves).
  const nsLabels = a.kind === 'Namespace' && !a.group ? (a.object ?? a.oldObject)?.metadata?.labels : a.namespaceObject?.metadata?.labels;
  if ((a.namespace || (a.kind === 'Namespace' && !a.group)) && !matches(m.namespaceSelector, nsLabels)) return false;
  const objLabels = (a.object ?? a.oldObject)?.metadata?.labels;
  if (!matches(m.objectSelector, objLabels)) return false;
  return true;
}

// ---------------------------------------------------------------- evaluation

function requestVar(a: AdmissionAttributes): Obj {
  return {
    kind: { group: a.group, version: a.version, kind: a.kind },
    resource: { group: a.group, version: a.version, resource: a.resource },
    subResource: a.subResource ?? '',
    requestKind: { group: a.group, version: a.version, kind: a.kind },
    requestResource: { group: a.group, version: a.version, resource: a.resource },
    name: a.name,
    namespace: a.namespace ?? '',
    operation: a.operation,
    userInfo: { username: a.userInfo.username, uid: a.userInfo.uid ?? '', groups: a.userInfo.groups, extra: a.userInfo.extra ?? {} },
    dryRun: a.dryRun,
  };
}

const denialHeader = (policy: string, binding: string) => `ValidatingAdmissionPolicy '${policy}' with binding '${binding}' denied request`;

/** Status code of a validation's reason (default Invalid, as kube's). */
function codeOf(reason: string): number {
  switch (reason) {
    case 'Unauthorized':
      return 401;
    case 'Forbidden':
      return 403;
    case 'RequestEntityTooLarge':
      return 413;
    default:
      return 422;
  }
}

/**
 * Evaluates every bound policy that matches the request; the first denial wins.
 * `policies` and `bindings` are the stored objects.
 */
export function admit(a: AdmissionAttributes, policies: Obj[], bindings: Obj[]): Denial | undefined {
  if (!bindings.length) return undefined;
  const byName = new Map(policies.map((p) => [String(p.metadata?.name), p]));
  let vars: Obj | undefined;
  for (const binding of bindings) {
    const bspec = binding.spec ?? {};
    const actions: string[] = bspec.validationActions ?? [];
    if (!actions.includes('Deny')) continue;
    const stored = byName.get(String(bspec.policyName));
    if (!stored) continue;
    const policy = compilePolicy(stored);
    const bname = String(binding.metadata?.name ?? '');
    if (!resourcesMatch(policy.spec.matchConstraints, a, true)) continue;
    if (!resourcesMatch(bspec.matchResources, a, false)) continue;
    if (bspec.paramRef || policy.spec.paramKind)
      return { code: 403, reason: 'Forbidden', message: `${denialHeader(policy.name, bname)}: policies with parameters are not supported by this server` };
    vars ??= {
      object: a.object === undefined ? null : toCel(a.object, undefined),
      oldObject: a.oldObject === undefined ? null : toCel(a.oldObject, undefined),
      request: toCel(requestVar(a), undefined),
      namespaceObject: a.namespaceObject ? toCel(a.namespaceObject, undefined) : null,
      params: null,
    };
    const denial = evaluate(policy, bname, vars);
    if (denial) return denial;
  }
  return undefined;
}

function evaluate(policy: CompiledPolicy, binding: string, base: Obj): Denial | undefined {
  const failed = (what: string): Denial | undefined =>
    policy.failClosed ? { code: 403, reason: 'Forbidden', message: `${denialHeader(policy.name, binding)}: ${what}` } : undefined;
  // Variables are lazily named in CEL as `variables.NAME`; computed in order, each may use earlier ones.
  const variables = new Map<string, unknown>();
  const vars = { ...base, variables };
  for (const v of policy.variables) {
    if (!v.expr) return failed(`variable ${v.name}: compilation failed: ${v.error}`);
    const r = v.expr.evaluate(vars);
    if ('error' in r) return failed(`variable ${v.name}: ${r.error}`);
    variables.set(v.name, r.value);
  }
  for (const m of policy.matchConditions) {
    if (!m.expr) return failed(`matchCondition ${m.name}: compilation failed: ${m.error}`);
    const r = m.expr.evaluate(vars);
    if ('error' in r) return failed(`matchCondition ${m.name}: ${r.error}`);
    if (r.value !== true) return undefined;
  }
  for (const v of policy.validations) {
    if (!v.expr) return failed(`compilation failed for expression: ${v.source}: ${v.error}`);
    const r = v.expr.evaluate(vars);
    if ('error' in r) {
      const d = failed(`expression '${v.source}' resulted in error: ${r.error}`);
      if (d) return d;
      continue;
    }
    if (r.value === true) continue;
    let message = v.message ?? `failed expression: ${v.source}`;
    if (v.messageExpression) {
      const m = v.messageExpression.evaluate(vars);
      if (!('error' in m) && typeof m.value === 'string' && m.value.trim()) message = m.value.trim();
    }
    const reason = v.reason ?? 'Invalid';
    return { code: codeOf(reason), reason, message: `${denialHeader(policy.name, binding)}: ${message}` };
  }
  return undefined;
}
