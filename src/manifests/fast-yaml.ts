// Fast path for large multi-document YAML (a generated datacenter is 200,000 objects): block-yaml's
// line reader for plain block documents, else js-yaml, for the values, resolving plain scalars exactly
// as `yaml`'s YAML 1.1 schema does in load.ts (plain-scalars.ts), one document at a time; field lines
// from a text scan. The `yaml` node tree (what lineOf and nodeAt fall back to) is built per document,
// only when a path cannot be located from the text.
//
// Anything unusual (anchors, aliases, tags, merge keys, directives, tabs, `...`, lists) sends the rest
// of the file to the full parser, as does any js-yaml error: syntax errors are always the full parser's.
import jsyaml from 'js-yaml';
import { DECLINE, parseBlockDocument } from './block-yaml';
import type { FieldPath } from './load';
import { classify, SCALARS } from './plain-scalars';


export const SCHEMA = jsyaml.FAILSAFE_SCHEMA.extend({
  implicit: SCALARS.map(
    (s, i) =>
      new jsyaml.Type(`tag:vmsafe.io,fast:${s.tag}`, {
        kind: 'scalar',
        resolve: (data: string | null) => classify(data ?? '') === i,
        construct: (data: string | null) => s.construct(data ?? ''),
      }),
  ),
});

/** Constructs the fast path does not handle: the full parser reads these files. */
const UNUSUAL = [
  /(?:^|[\s,[{])[&*!][^\s,[\]{}]/m, // anchors, aliases, tags
  /<</, // merge keys
  /^%/m, // directives
  /^\.\.\.(?:\s|$)/m, // document end markers
  /\t/, // tabs (indentation rules differ between parsers)
  // Compact nested sequences and empty items: js-yaml nests `- - -⏎  - x` differently from yaml.
  /^[ -]*- +-(?: |\r?$)/m,
  /(?:^|\s)-[ \r]*$/m,
];

export interface FastDocument {
  /** The value, an object (never an array or a List); undefined when the caller asked to skip it. */
  object: unknown;
  /** Passed over unread at the caller's request (fastDocuments' `skip`). */
  skipped?: true;
  /** 1-based line of the object's first content line. */
  line: number;
  /** The document's text and the 1-based line its first character is on. */
  text: string;
  base: number;
}

/**
 * The documents of `text`, or undefined when the full parser must read the file (anything unusual,
 * any error, a top-level array or `kind: List`).
 */
export function parseYamlFast(text: string): FastDocument[] | undefined {
  const out: FastDocument[] = [];
  const docs = fastDocuments(text);
  for (let step = docs.next(); ; step = docs.next()) {
    if (step.done) return step.value === 0 ? out : undefined;
    out.push(step.value);
  }
}

/**
 * `parseYamlFast` one document at a time, so a caller can check and drop each before the next is read:
 * returns 0 when it read the whole text, else the 1-based line of the document where the full parser
 * must take over (the documents given before it are the full parser's: the fast path stops before any
 * construct it would read differently). `skip`: documents it says yes to are given as `skipped`,
 * unread, for a caller that knows from the text alone that it does not want them.
 */
export function* fastDocuments(text: string, skip?: (doc: string) => boolean): Generator<FastDocument, number> {
  // U+2028/U+2029 are line starts for the split's /m but not line breaks to YAML: the full parser reads such a file.
  if (/[\u2028\u2029]/.test(text)) return 1;
  let base = 1;
  // Each document with its `---` line (a marker at column 0 always starts a document once `...` and
  // directives are ruled out).
  for (const doc of text.split(/^(?=---(?:[ \r\n]|$))/m)) {
    if (skip?.(doc)) {
      const line = firstContentLine(doc, base);
      if (line !== undefined) yield { object: undefined, skipped: true, line, text: doc, base };
      base += countNewlines(doc);
      continue;
    }
    // block-yaml reads only what js-yaml and yaml read alike (tested); what it declines is checked here.
    let value = parseBlockDocument(doc);
    if (value === DECLINE) {
      if (UNUSUAL.some((re) => re.test(doc))) return base;
      try {
        value = jsyaml.load(doc, { schema: SCHEMA });
      } catch {
        return base;
      }
    }
    if (value !== null && value !== undefined) {
      if (typeof value !== 'object' || Array.isArray(value) || (value as { kind?: unknown }).kind === 'List') return base;
      const line = firstContentLine(doc, base);
      if (line === undefined) return base;
      yield { object: value, line, text: doc, base };
    }
    base += countNewlines(doc);
  }
  return 0;
}

function countNewlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

const isBlankOrComment = (l: string) => {
  const t = l.trim();
  return t === '' || t.startsWith('#');
};

/** Where the document's content starts: content after `---` on its line, else the first content line. */
function firstContentLine(doc: string, base: number): number | undefined {
  for (let start = 0, i = 0; start <= doc.length; i++) {
    let end = doc.indexOf('\n', start);
    if (end < 0) end = doc.length;
    let l = doc.slice(start, end);
    if (i === 0 && /^---(?:[ \r]|$)/.test(l)) l = l.slice(3);
    if (!isBlankOrComment(l)) return base + i;
    start = end + 1;
  }
  return undefined;
}

// Keys whose text is their value: anything else (quoted, numbers, YAML 1.1 booleans, null) is left to the tree.
const SIMPLE_KEY = /^[A-Za-z_][A-Za-z0-9_./-]*$/;
const RESOLVING_WORD = /^(?:y|yes|n|no|true|false|on|off|null)$/i;
const simpleKey = (k: string) => SIMPLE_KEY.test(k) && !RESOLVING_WORD.test(k);

interface Line {
  no: number;
  /** Text with the indicators of enclosing sequence items blanked, so columns stay true. */
  text: string;
}
const indentOf = (t: string) => t.length - t.trimStart().length;

/**
 * The 1-based line of `path` in a block-style document, as lineOf would compute it from the node tree
 * (map fields at their key, items at the item, a missing part at the deepest existing one), or
 * undefined when the text holds something this scan does not model (flow collections, block scalars,
 * quoted or non-identifier keys on the way): the caller then asks the parsed tree.
 */
export function locateLine(doc: Omit<FastDocument, 'object'>, path: FieldPath): number | undefined {
  const all = doc.text.split('\n').map((t, i) => ({ no: doc.base + i, text: t.replace(/\r$/, '') }));
  if (all.length > 0 && /^---/.test(all[0]!.text)) all[0] = { no: all[0]!.no, text: `   ${all[0]!.text.slice(3)}` };
  let region: Line[] = all.filter((l) => !isBlankOrComment(l.text));
  let line = doc.line;
  for (const seg of path) {
    if (region.length === 0) return line;
    const indent = indentOf(region[0]!.text);
    const first = region[0]!.text.slice(indent);
    if (/^[[{|>"'?]/.test(first)) return undefined;
    const isSeq = /^-(?: |$)/.test(first);
    if (typeof seg === 'number' && isSeq) {
      const starts: number[] = [];
      region.forEach((l, i) => {
        if (indentOf(l.text) === indent && /^-(?: |$)/.test(l.text.slice(indent))) starts.push(i);
        else if (indentOf(l.text) < indent) starts.push(-1); // cannot happen inside a region
      });
      if (starts.includes(-1)) return undefined;
      const at = starts[seg];
      if (at === undefined) return line;
      const end = starts[seg + 1] ?? region.length;
      const item = region.slice(at, end).map((l, k) => (k === 0 ? { no: l.no, text: `${' '.repeat(indent)} ${l.text.slice(indent + 1)}` } : l));
      if (isBlankOrComment(item[0]!.text)) item.shift();
      if (item.length === 0) return undefined; // an empty item: null, and its line is the dash's
      line = item[0]!.no;
      region = item;
    } else if (typeof seg === 'string' && !isSeq) {
      let found = -1;
      for (let i = 0; i < region.length; i++) {
        const l = region[i]!;
        const ind = indentOf(l.text);
        if (ind < indent) return undefined;
        if (ind > indent) continue;
        const m = /^([^:\s]+):(?: |$)/.exec(l.text.slice(indent));
        if (!m) {
          // A sequence at the key's own indent belongs to the previous key; anything else is not modelled.
          if (/^-(?: |$)/.test(l.text.slice(indent))) continue;
          return undefined;
        }
        if (!simpleKey(m[1]!)) return undefined;
        if (m[1] === seg && found < 0) found = i;
      }
      if (found < 0) return line;
      const keyLine = region[found]!;
      line = keyLine.no;
      const rest = keyLine.text.slice(indent + seg.length + 1).trim();
      const value: Line[] = [];
      for (let i = found + 1; i < region.length; i++) {
        const l = region[i]!;
        const ind = indentOf(l.text);
        if (ind > indent || (ind === indent && /^-(?: |$)/.test(l.text.slice(indent)))) value.push(l);
        else break;
      }
      if (rest !== '' && !rest.startsWith('#')) {
        // A scalar (or flow collection) on the key's line: the path ends here unless it is a collection.
        if (/^[[{|>&*!]/.test(rest)) return undefined;
        return line;
      }
      region = value;
    } else if (typeof seg === 'string') {
      return line; // a field of a sequence does not exist: the sequence is as deep as it goes
    } else {
      return undefined; // an index into a map: a key like `0:` is for the tree to find
    }
  }
  return line;
}
