// A small, fast YAML emitter for plain JSON data (block style). It quotes every string a YAML 1.1
// parser (kubectl's) could read as something else: On/Off/yes/no, numbers, MACs like 02:00:…, and
// anything with special characters. Much faster than a general emitter at a million objects.

const RESERVED = new Set(['y', 'yes', 'n', 'no', 'true', 'false', 'on', 'off', 'null', '~', '']);
const PLAIN = /^[A-Za-z_][A-Za-z0-9_./-]*$/;
/** Letter-first strings YAML 1.1 still reads as numbers, e.g. the float "E0" or "e+5". */
const NUMERIC_LOOKING = /^[0-9eE._+-]+$/;

function scalar(v: unknown): string {
  if (typeof v === 'string') return PLAIN.test(v) && !NUMERIC_LOOKING.test(v) && !RESERVED.has(v.toLowerCase()) ? v : JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`cannot emit ${v}`);
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === null) return 'null';
  throw new Error(`cannot emit a ${typeof v}`);
}

const isEmpty = (v: unknown) =>
  (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
const isCollection = (v: unknown) => typeof v === 'object' && v !== null && !isEmpty(v);
const empty = (v: unknown) => (Array.isArray(v) ? '[]' : '{}');

export interface YamlOptions {
  /** Leave out keys whose value is an empty list (for manifests whose schema defaults lists to []). */
  omitEmptyLists?: boolean;
}

function emit(v: unknown, indent: string, out: string[], o: YamlOptions): void {
  if (Array.isArray(v)) {
    for (const item of v) {
      if (isCollection(item) && !Array.isArray(item)) {
        // "- key: value" with the following keys aligned under the first.
        const inner: string[] = [];
        emit(item, `${indent}  `, inner, o);
        out.push(`${indent}- ${inner[0]!.slice(indent.length + 2)}`);
        for (let i = 1; i < inner.length; i++) out.push(inner[i]!);
      } else if (isCollection(item)) {
        out.push(`${indent}-`);
        emit(item, `${indent}  `, out, o);
      } else out.push(`${indent}- ${isEmpty(item) ? empty(item) : scalar(item)}`);
    }
    return;
  }
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (val === undefined || (o.omitEmptyLists && Array.isArray(val) && val.length === 0)) continue;
    const key = scalar(k);
    if (isCollection(val)) {
      out.push(`${indent}${key}:`);
      emit(val, Array.isArray(val) ? indent : `${indent}  `, out, o);
    } else out.push(`${indent}${key}: ${isEmpty(val) ? empty(val) : scalar(val)}`);
  }
}

/** One YAML document (no leading `---`), ending with a newline. */
export function toYaml(doc: object, opts: YamlOptions = {}): string {
  if (isEmpty(doc)) return `${empty(doc)}\n`;
  const out: string[] = [];
  emit(doc, '', out, opts);
  return `${out.join('\n')}\n`;
}

/** Several documents separated by `---`. */
export function toYamlStream(docs: readonly object[], opts: YamlOptions = {}): string {
  return docs.map((d) => `---\n${toYaml(d, opts)}`).join('');
}
