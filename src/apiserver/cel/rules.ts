// CRD `x-kubernetes-validations`, evaluated as apiextensions-apiserver does: each rule at its schema
// node (per array item, per map value) with `self` bound to the value there and `oldSelf` to the
// correlated old value (transition rules run only on update, where one exists); a false rule is a
// 422 cause at the node's field path (plus the rule's `fieldPath`) in kube's words.
//
// Cost: @bufbuild/cel cannot interrupt an evaluation, so a rule is bounded before it runs: its cost
// is (1 + nodes under self)^max(1, comprehension nesting). A call over 1e6 or an object over 1e7
// in total is refused with kube's budget messages, so a hostile object cannot freeze the server.
import type { StatusCause } from '../errors';
import type { Schema } from '../schema';
import { compileExpression, type CompiledExpression } from './env';
import { countNodes, toCel } from './values';

export const PER_CALL_COST_LIMIT = 1_000_000;
export const PER_OBJECT_COST_BUDGET = 10_000_000;

interface CompiledRule {
  expr: CompiledExpression;
  message?: string;
  messageExpression?: CompiledExpression;
  fieldPath?: string;
  reason?: string;
  transition: boolean;
}

/** A schema node with its compiled rules and the nodes below it that have rules. */
export interface RuleNode {
  schema: Schema;
  rules: CompiledRule[];
  properties?: Map<string, RuleNode>;
  items?: RuleNode;
  additionalProperties?: RuleNode;
}

export interface RuleCompileError {
  /** Path inside the openAPIV3Schema, kube style: `properties[spec].x-kubernetes-validations[0].rule`. */
  path: string;
  /** The expression that failed. */
  value: string;
  message: string;
}

/**
 * Compiles every rule of a structural schema. Returns the tree (undefined when the schema has no
 * rules at all) and the rules that cannot be compiled (the CRD is then invalid).
 */
export function compileRules(schema: Schema | undefined): { tree?: RuleNode; errors: RuleCompileError[] } {
  const errors: RuleCompileError[] = [];
  const tree = schema ? compileNode(schema, '', errors) : undefined;
  return { tree, errors };
}

function compileNode(schema: Schema, path: string, errors: RuleCompileError[]): RuleNode | undefined {
  if (!schema || typeof schema !== 'object') return undefined;
  const rules: CompiledRule[] = [];
  const list = schema['x-kubernetes-validations'];
  if (Array.isArray(list))
    list.forEach((raw: any, i: number) => {
      const at = `${path ? `${path}.` : ''}x-kubernetes-validations[${i}]`;
      const source = String(raw?.rule ?? '');
      const expr = compileExpression(source);
      if ('error' in expr) return void errors.push({ path: `${at}.rule`, value: source, message: `compilation failed: ${expr.error}` });
      let messageExpression: CompiledExpression | undefined;
      if (raw.messageExpression) {
        const m = compileExpression(String(raw.messageExpression));
        if ('error' in m) return void errors.push({ path: `${at}.messageExpression`, value: String(raw.messageExpression), message: `messageExpression compilation failed: ${m.error}` });
        messageExpression = m;
      }
      rules.push({
        expr,
        message: typeof raw.message === 'string' ? raw.message.trim() : undefined,
        messageExpression,
        fieldPath: typeof raw.fieldPath === 'string' ? raw.fieldPath.replace(/^\./, '') : undefined,
        reason: typeof raw.reason === 'string' ? raw.reason : undefined,
        transition: expr.identifiers.has('oldSelf'),
      });
    });
  const node: RuleNode = { schema, rules };
  let any = rules.length > 0;
  if (schema.properties && typeof schema.properties === 'object') {
    for (const [key, sub] of Object.entries(schema.properties as Record<string, Schema>)) {
      const child = compileNode(sub, `${path ? `${path}.` : ''}properties[${key}]`, errors);
      if (child) (node.properties ??= new Map()).set(key, child);
    }
    any ||= node.properties !== undefined;
  }
  if (schema.items && typeof schema.items === 'object') {
    node.items = compileNode(schema.items, `${path ? `${path}.` : ''}items`, errors);
    any ||= node.items !== undefined;
  }
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    node.additionalProperties = compileNode(schema.additionalProperties, `${path ? `${path}.` : ''}additionalProperties`, errors);
    any ||= node.additionalProperties !== undefined;
  }
  return any ? node : undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const child = (path: string, key: string) => (path ? `${path}.${key}` : key);

/** The value kube prints for a failed rule: the schema type of the node. */
function schemaType(schema: Schema): string {
  if (schema['x-kubernetes-int-or-string']) return 'integer-or-string';
  return typeof schema.type === 'string' ? schema.type : 'object';
}

/** Evaluates the rules of `tree` against a new object (and its old version on update). */
export function validateRules(tree: RuleNode, obj: unknown, old: unknown): StatusCause[] {
  const causes: StatusCause[] = [];
  const budget = { remaining: PER_OBJECT_COST_BUDGET, exhausted: false };
  walk(tree, obj, old, '', causes, budget);
  return causes;
}

function walk(node: RuleNode, value: unknown, old: unknown, path: string, causes: StatusCause[], budget: { remaining: number; exhausted: boolean }) {
  if (budget.exhausted || value === undefined || value === null) return;
  if (node.rules.length) evaluateRules(node, value, old, path, causes, budget);
  if (Array.isArray(value) && node.items) {
    // Only map-type lists correlate items with the old list (by their keys), as kube does.
    const keys: string[] | undefined = node.schema['x-kubernetes-list-type'] === 'map' ? node.schema['x-kubernetes-list-map-keys'] : undefined;
    const oldByKey = keys && Array.isArray(old) ? new Map(old.filter(isObject).map((o) => [keyOf(o, keys), o])) : undefined;
    value.forEach((item, i) => walk(node.items!, item, oldByKey && isObject(item) ? oldByKey.get(keyOf(item, keys!)) : undefined, `${path}[${i}]`, causes, budget));
    return;
  }
  if (!isObject(value)) return;
  const oldObj = isObject(old) && node.schema['x-kubernetes-map-type'] !== 'atomic' ? old : undefined;
  // The old value of a key the old object does not have is none (not Object's `constructor`): a
  // transition rule does not run for a map key added in this write, whatever its name.
  const oldOf = (key: string) => (oldObj && Object.hasOwn(oldObj, key) ? oldObj[key] : undefined);
  if (node.properties)
    for (const [key, sub] of node.properties) if (Object.hasOwn(value, key)) walk(sub, value[key], oldOf(key), child(path, key), causes, budget);
  if (node.additionalProperties)
    for (const key of Object.keys(value))
      if (!node.properties?.has(key)) walk(node.additionalProperties, value[key], oldOf(key), `${path}[${key}]`, causes, budget);
}

const keyOf = (o: Record<string, unknown>, keys: string[]) => JSON.stringify(keys.map((k) => o[k] ?? null));

function evaluateRules(node: RuleNode, value: unknown, old: unknown, path: string, causes: StatusCause[], budget: { remaining: number; exhausted: boolean }) {
  const type = schemaType(node.schema);
  const field = path || undefined;
  const size = 1 + countNodes(value) + (old === undefined ? 0 : countNodes(old));
  let self: unknown;
  let oldSelf: unknown;
  for (const rule of node.rules) {
    if (rule.transition && old === undefined) continue;
    const cost = size ** Math.max(1, rule.expr.comprehensionDepth);
    const ruleText = rule.message || rule.expr.source;
    if (cost > PER_CALL_COST_LIMIT) {
      causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "${type}": no further validation rules will be run due to call cost exceeds limit for rule: ${ruleText}`, field });
      budget.exhausted = true;
      return;
    }
    if (cost > budget.remaining) {
      causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "${type}": validation failed due to running out of cost budget, no further validation rules will be run`, field });
      budget.exhausted = true;
      return;
    }
    budget.remaining -= cost;
    self ??= toCel(value, node.schema);
    if (rule.transition) oldSelf ??= toCel(old, node.schema);
    const vars = rule.transition ? { self, oldSelf } : { self };
    const result = rule.expr.evaluate(vars);
    if ('error' in result) {
      causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "${type}": ${result.error} evaluating rule: ${ruleText}`, field });
      continue;
    }
    if (result.value === true) continue;
    const at = rule.fieldPath ? child(path, rule.fieldPath) : path;
    causes.push(fieldError(at || undefined, type, messageOf(rule, vars), rule.reason));
  }
}

function messageOf(rule: CompiledRule, vars: Record<string, unknown>): string {
  if (rule.messageExpression) {
    const m = rule.messageExpression.evaluate(vars);
    if (!('error' in m) && typeof m.value === 'string' && m.value.trim() && !m.value.includes('\n')) return m.value.trim();
  }
  return rule.message || `failed rule: ${rule.expr.source.trim()}`;
}

/** field.Invalid / Forbidden / Required / Duplicate, as kube's fieldErrorForReason picks them. */
function fieldError(field: string | undefined, type: string, detail: string, reason?: string): StatusCause {
  switch (reason) {
    case 'FieldValueForbidden':
      return { reason, message: `Forbidden: ${detail}`, field };
    case 'FieldValueRequired':
      return { reason, message: `Required value: ${detail}`, field };
    case 'FieldValueDuplicate':
      return { reason, message: `Duplicate value: "${type}"`, field };
    default:
      return { reason: 'FieldValueInvalid', message: `Invalid value: "${type}": ${detail}`, field };
  }
}
