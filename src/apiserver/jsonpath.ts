// The part of Kubernetes JSONPath used by additionalPrinterColumns: fields, [n], [*], .*, and
// filters [?(@.a.b OP literal)] / [?(@.a)]. Pure; compile once per column, evaluate per row.

type Step =
  | { t: 'field'; name: string }
  | { t: 'index'; i: number }
  | { t: 'all' }
  | { t: 'filter'; path: string[]; op?: string; value?: unknown };

export type CompiledPath = (root: unknown) => unknown[];

export function compileJsonPath(expr: string): CompiledPath {
  let src = expr.trim();
  if (src.startsWith('{') && src.endsWith('}')) src = src.slice(1, -1);
  if (src.startsWith('$')) src = src.slice(1);
  const steps = parse(src);
  return (root) => evaluate(steps, root);
}

function parse(src: string): Step[] {
  const steps: Step[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i];
    if (ch === '.') {
      i++;
      if (src[i] === '*') {
        steps.push({ t: 'all' });
        i++;
        continue;
      }
      let name = '';
      while (i < src.length && src[i] !== '.' && src[i] !== '[') name += src[i++];
      if (name) steps.push({ t: 'field', name });
    } else if (ch === '[') {
      const end = findClose(src, i);
      const inner = src.slice(i + 1, end).trim();
      i = end + 1;
      if (inner === '*') steps.push({ t: 'all' });
      else if (/^-?\d+$/.test(inner)) steps.push({ t: 'index', i: Number(inner) });
      else if (/^'.*'$|^".*"$/.test(inner)) steps.push({ t: 'field', name: inner.slice(1, -1) });
      else if (inner.startsWith('?(') && inner.endsWith(')')) steps.push(parseFilter(inner.slice(2, -1)));
      else throw new Error(`unsupported JSONPath segment [${inner}]`);
    } else {
      let name = '';
      while (i < src.length && src[i] !== '.' && src[i] !== '[') name += src[i++];
      steps.push({ t: 'field', name });
    }
  }
  return steps;
}

function findClose(src: string, open: number): number {
  let depth = 0;
  let quote: string | null = null;
  for (let j = open; j < src.length; j++) {
    const c = src[j]!;
    if (quote) {
      if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '[') depth++;
    else if (c === ']' && --depth === 0) return j;
  }
  throw new Error(`unterminated [ in JSONPath "${src}"`);
}

function parseFilter(expr: string): Step {
  const m = expr.match(/^@((?:\.[A-Za-z0-9_-]+)+)\s*(==|!=|<=|>=|<|>)\s*(.+)$/);
  if (!m) {
    const ex = expr.match(/^@((?:\.[A-Za-z0-9_-]+)+)$/);
    if (ex) return { t: 'filter', path: ex[1]!.slice(1).split('.') };
    throw new Error(`unsupported JSONPath filter ${expr}`);
  }
  const lit = m[3]!.trim();
  let value: unknown;
  if (/^".*"$|^'.*'$/.test(lit)) value = lit.slice(1, -1);
  else if (lit === 'true' || lit === 'false') value = lit === 'true';
  else if (!Number.isNaN(Number(lit))) value = Number(lit);
  else value = lit;
  return { t: 'filter', path: m[1]!.slice(1).split('.'), op: m[2]!, value };
}

function evaluate(steps: Step[], root: unknown): unknown[] {
  let cur: unknown[] = [root];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of cur) {
      if (v === null || v === undefined) continue;
      switch (step.t) {
        case 'field':
          // Own fields only: `.spec.constructor` of an object without one is nothing, not Object's.
          if (typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v as object, step.name))
            next.push((v as Record<string, unknown>)[step.name]);
          break;
        case 'index':
          if (Array.isArray(v)) {
            const idx = step.i < 0 ? v.length + step.i : step.i;
            if (idx >= 0 && idx < v.length) next.push(v[idx]);
          }
          break;
        case 'all':
          if (Array.isArray(v)) next.push(...v);
          else if (typeof v === 'object') next.push(...Object.values(v as object));
          break;
        case 'filter':
          if (Array.isArray(v)) for (const item of v) if (filterMatches(step, item)) next.push(item);
          break;
      }
    }
    cur = next;
  }
  return cur;
}

function filterMatches(step: Extract<Step, { t: 'filter' }>, item: unknown): boolean {
  let v: unknown = item;
  for (const p of step.path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, p)) return false;
    v = (v as Record<string, unknown>)[p];
  }
  if (step.op === undefined) return v !== undefined && v !== null;
  if (v === undefined) return false;
  const a = v as any;
  const b = step.value as any;
  switch (step.op) {
    case '==': return a === b || String(a) === String(b);
    case '!=': return !(a === b || String(a) === String(b));
    case '<': return a < b;
    case '>': return a > b;
    case '<=': return a <= b;
    case '>=': return a >= b;
  }
  return false;
}
