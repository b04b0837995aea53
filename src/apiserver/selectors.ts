// Label and field selectors in their query-string forms (apimachinery labels.Parse / fields.ParseSelector).
// Pure: parse once per request or watch, then match many objects.
import { badRequest } from './errors';

export type Labels = Record<string, string> | undefined;
export type LabelMatcher = (labels: Labels) => boolean;

type Op = 'exists' | '!exists' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';
interface Requirement {
  key: string;
  op: Op;
  values: string[];
}

const KEY_RE = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;
const VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Split on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function checkKey(key: string, sel: string) {
  if (!KEY_RE.test(key) || key.length > 317)
    throw badRequest(`unable to parse requirement: invalid label key "${key}": in selector "${sel}"`);
}
function checkValue(v: string, sel: string) {
  if (v.length > 63 || !VALUE_RE.test(v))
    throw badRequest(`unable to parse requirement: invalid label value: "${v}": in selector "${sel}"`);
}

export function parseLabelSelector(selector: string | null | undefined): LabelMatcher | undefined {
  const sel = (selector ?? '').trim();
  if (!sel) return undefined;
  const reqs: Requirement[] = [];
  for (const rawPart of splitTop(sel)) {
    const part = rawPart.trim();
    if (!part) throw badRequest(`found '', expected: identifier in selector "${sel}"`);
    let m: RegExpMatchArray | null;
    if ((m = part.match(/^(\S+)\s+(in|notin)\s*\((.*)\)$/))) {
      const values = m[3]!.split(',').map((v) => v.trim());
      checkKey(m[1]!, sel);
      values.forEach((v) => checkValue(v, sel));
      reqs.push({ key: m[1]!, op: m[2] as Op, values });
    } else if ((m = part.match(/^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(.*)$/))) {
      const key = m[1]!;
      const value = m[3]!.trim();
      checkKey(key, sel);
      const op = m[2]!;
      if (op === '>' || op === '<') {
        if (!/^-?\d+$/.test(value)) throw badRequest(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer: in selector "${sel}"`);
        reqs.push({ key, op: op === '>' ? 'gt' : 'lt', values: [value] });
      } else {
        checkValue(value, sel);
        reqs.push({ key, op: op === '!=' ? '!=' : '=', values: [value] });
      }
    } else if ((m = part.match(/^!\s*(\S+)$/))) {
      checkKey(m[1]!, sel);
      reqs.push({ key: m[1]!, op: '!exists', values: [] });
    } else if (!/\s/.test(part)) {
      checkKey(part, sel);
      reqs.push({ key: part, op: 'exists', values: [] });
    } else {
      throw badRequest(`unable to parse requirement: found '${part}' in selector "${sel}"`);
    }
  }
  return (labels) => reqs.every((r) => matchRequirement(r, labels));
}

function matchRequirement(r: Requirement, labels: Labels): boolean {
  const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? labels![r.key]! : undefined;
  switch (r.op) {
    case 'exists': return has;
    case '!exists': return !has;
    case '=': return has && v === r.values[0];
    case '!=': return !has || v !== r.values[0];
    case 'in': return has && r.values.includes(v!);
    case 'notin': return !has || !r.values.includes(v!);
    case 'gt': return has && /^-?\d+$/.test(v!) && Number(v) > Number(r.values[0]);
    case 'lt': return has && /^-?\d+$/.test(v!) && Number(v) < Number(r.values[0]);
  }
}

/** A metav1.LabelSelector object (matchLabels + matchExpressions), used by the GC-free parts and tests. */
export type FieldMatcher = (obj: Record<string, any>) => boolean;

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

/** Parses `a.b=c,d!=e`; each field must be one the resource supports (400 otherwise, like kube). */
export function parseFieldSelector(
  selector: string | null | undefined,
  supported: (field: string) => boolean,
): { matcher: FieldMatcher; requirements: FieldRequirement[] } | undefined {
  const sel = (selector ?? '').trim();
  if (!sel) return undefined;
  const requirements: FieldRequirement[] = [];
  for (const rawPart of sel.split(',')) {
    const part = rawPart.trim();
    const m = part.match(/^([^=!]+?)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw badRequest(`invalid selector: '${sel}'; can't understand '${part}'`);
    const field = m[1]!.trim();
    if (!supported(field)) throw badRequest(`field label not supported: ${field}`);
    requirements.push({ field, op: m[2] === '!=' ? '!=' : '=', value: unescapeField(m[3]!.trim()) });
  }
  const matcher: FieldMatcher = (obj) =>
    requirements.every((r) => {
      const v = fieldValue(obj, r.field);
      return r.op === '=' ? v === r.value : v !== r.value;
    });
  return { matcher, requirements };
}

function unescapeField(v: string): string {
  return v.replace(/\\([,=\\])/g, '$1');
}

/** Field value as a string, the way field label conversion renders it ("" when absent). */
export function fieldValue(obj: Record<string, any>, path: string): string {
  let cur: any = obj;
  for (const part of path.split('.')) {
    // Own fields only: an object without `spec.constructor` has "" there, not Object's function.
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, part)) return '';
    cur = cur[part];
  }
  if (cur === undefined || cur === null) return '';
  return String(cur);
}
