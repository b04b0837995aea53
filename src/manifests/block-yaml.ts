// The fastest path for plain block-style YAML, the shape generators and `kubectl get -o yaml` write:
// nested block maps and sequences of single-line scalars. js-yaml spends most of a datacenter's load
// time on generality these documents do not use; this reads them line by line, about 2.5× faster.
//
// It either returns exactly what js-yaml with fast-yaml's SCHEMA returns, or DECLINE: anything it
// does not model (multi-line or block scalars, escapes in quotes, non-empty flow collections,
// non-identifier or duplicate keys, compact nested sequences, empty items, tabs, lone carriage
// returns, non-ASCII, anchors, tags, directives, odd indentation) goes to js-yaml, or past fast-yaml's
// UNUSUAL check to the full parser. The property tests in test/validate/block-yaml.test.ts hold it to
// js-yaml and to the full `yaml` parser.
import { resolvePlain } from './plain-scalars';

export const DECLINE: unique symbol = Symbol('decline');
type Value = unknown;

// A plain key `[A-Za-z_][A-Za-z0-9_./-]*` followed by `:` and a space or the line's end (the value check
// for YAML 1.1 words and numbers is `plainKey`). Scanned by hand: a regex match per line allocates.
const KEY_START = new Uint8Array(128);
const KEY_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  KEY_START[c] = /[A-Za-z_]/.test(ch) ? 1 : 0;
  KEY_CHAR[c] = /[A-Za-z0-9_./-]/.test(ch) ? 1 : 0;
}

/** Where the colon of a plain key starting at `at` is (the line ends at `end`), or -1. */
function keyEnd(doc: string, at: number, end: number): number {
  const c0 = doc.charCodeAt(at);
  if (c0 >= 128 || KEY_START[c0] === 0) return -1;
  let k = at + 1;
  for (; k < end; k++) {
    const c = doc.charCodeAt(k);
    if (c >= 128 || KEY_CHAR[c] === 0) break;
  }
  if (k === end || doc.charCodeAt(k) !== 58 /* : */) return -1;
  return k + 1 === end || doc.charCodeAt(k + 1) === 32 ? k : -1;
}
/** A sequence item's `-` at `at` (followed by a space or the line's end at `end`). */
const dashAt = (doc: string, at: number, end: number) => doc.charCodeAt(at) === 45 && (at + 1 === end || doc.charCodeAt(at + 1) === 32);
/** Characters that start something other than a plain scalar, or that this reader does not model inside one. */
const NOT_PLAIN_START = /^[-?:,[\]{}#&*!|>'"%@`]/;
const PLAIN_ODD = /[#"'`\\]|: |:$|[[\]{},]/;
const TRAILING_COMMENT = /^ +(?:#.*)?$/;
const NOT_PRINTABLE_ASCII = /[^\n\r\x20-\x7e]|\r(?!\n)/;

class Declined extends Error {}
const decline = (): never => {
  throw new Declined();
};

// Keys repeat across documents (name, namespace, spec...): remember each one's verdict, and hand out
// one string per key so every object's properties are set with the same (internalized) key.
const plainKeys = new Map<string, string | null>();
function plainKey(key: string): string | null {
  let known = plainKeys.get(key);
  if (known === undefined) {
    known = key !== '__proto__' && resolvePlain(key) === key ? key : null;
    if (plainKeys.size < 10_000) plainKeys.set(key, known);
  }
  return known;
}

/**
 * One YAML document (its `---` line, if any, included) as js-yaml would load it, or DECLINE. An empty
 * document (blank lines and comments only) is null.
 */
export function parseBlockDocument(doc: string): Value | typeof DECLINE {
  // Only printable ASCII and \n or \r\n line breaks. Not tabs, which parsers indent differently;
  // control characters, which are errors; NEL and the Unicode line separators, which YAML 1.1 breaks
  // lines at; a byte order mark. Documents with any of them, or any other non-ASCII text, go to js-yaml.
  if (NOT_PRINTABLE_ASCII.test(doc)) return DECLINE;
  // Content lines only (no blank or comment lines): where the content starts, its column, where it ends.
  const from: number[] = [];
  const indent: number[] = [];
  const to: number[] = [];
  let start = 0;
  while (start <= doc.length) {
    let end = doc.indexOf('\n', start);
    if (end < 0) end = doc.length;
    let stop = end;
    if (stop > start && doc.charCodeAt(stop - 1) === 13) stop--;
    let i = start;
    while (i < stop && doc.charCodeAt(i) === 32) i++;
    if (start === 0 && doc.startsWith('---', 0)) {
      // The marker line: nothing may follow it but a comment.
      if (stop > 3 && doc.charCodeAt(3) !== 32) return DECLINE;
      const rest = doc.slice(3, stop).trimStart();
      if (rest !== '' && !rest.startsWith('#')) return DECLINE;
    } else if (i < stop && doc.charCodeAt(i) !== 35 /* # */) {
      from.push(i);
      indent.push(i - start);
      to.push(stop);
    }
    start = end + 1;
  }
  if (from.length === 0) return null;
  try {
    const r = new Reader(doc, from, indent, to);
    const value = r.node(indent[0]!);
    return r.pos === from.length ? value : DECLINE;
  } catch (err) {
    if (err instanceof Declined) return DECLINE;
    throw err;
  }
}

class Reader {
  pos = 0;
  constructor(
    private readonly doc: string,
    private readonly from: number[],
    private readonly indent: number[],
    private readonly to: number[],
  ) {}

  private isDash(line: number): boolean {
    return dashAt(this.doc, this.from[line]!, this.to[line]!);
  }

  node(n: number): Value {
    return this.isDash(this.pos) ? this.seq(n) : this.map(n);
  }

  map(n: number): Record<string, Value> {
    const obj: Record<string, Value> = {};
    const { doc, from, indent, to } = this;
    const lines = from.length;
    while (this.pos < lines && indent[this.pos] === n) {
      if (this.isDash(this.pos)) break;
      const at = from[this.pos]!;
      const end = to[this.pos]!;
      const colon = keyEnd(doc, at, end);
      if (colon < 0) return decline();
      const key = plainKey(doc.slice(at, colon));
      if (key === null || Object.prototype.hasOwnProperty.call(obj, key)) return decline();
      let v = colon + 1;
      while (v < end && doc.charCodeAt(v) === 32) v++;
      this.pos++;
      if (v === end || doc.charCodeAt(v) === 35) {
        const next = indent[this.pos];
        if (next !== undefined && next > n) obj[key] = this.node(next);
        else if (next === n && this.isDash(this.pos)) obj[key] = this.seq(n);
        else obj[key] = null;
      } else {
        obj[key] = scalar(doc.slice(v, end));
      }
      if (this.pos < lines && indent[this.pos]! > n) return decline();
    }
    return obj;
  }

  seq(n: number): Value[] {
    const arr: Value[] = [];
    const { doc, from, indent, to } = this;
    const lines = from.length;
    while (this.pos < lines && indent[this.pos] === n && this.isDash(this.pos)) {
      const end = to[this.pos]!;
      let v = from[this.pos]! + 1;
      while (v < end && doc.charCodeAt(v) === 32) v++;
      if (v === end || doc.charCodeAt(v) === 35) {
        return decline(); // an empty item (or its value on the next lines): js-yaml and yaml nest these differently
      } else if (dashAt(doc, v, end)) {
        return decline(); // `- - x`: compact nested sequences
      } else if (keyEnd(doc, v, end) >= 0) {
        // `- key: value`: a map whose column is the key's; the rest of it follows at that column.
        const column = n + (v - from[this.pos]!);
        from[this.pos] = v;
        indent[this.pos] = column;
        arr.push(this.map(column));
      } else {
        arr.push(scalar(doc.slice(v, end)));
        this.pos++;
      }
      if (this.pos < lines && indent[this.pos]! > n) return decline();
    }
    return arr;
  }
}

/** A single-line scalar (or an empty flow collection) after `key: ` or `- `. */
function scalar(s: string): Value {
  const q = s.charCodeAt(0);
  if (q === 34 /* " */ || q === 39 /* ' */) {
    const close = s.indexOf(q === 34 ? '"' : "'", 1);
    if (close < 0) return decline();
    const inner = s.slice(1, close);
    if (q === 34 && inner.includes('\\')) return decline();
    // '' (an escaped quote inside single quotes) fails this check: js-yaml reads those.
    if (close + 1 < s.length && !TRAILING_COMMENT.test(s.slice(close + 1))) return decline();
    return inner;
  }
  let text = s;
  const hash = text.indexOf(' #');
  if (hash >= 0) text = text.slice(0, hash);
  text = text.trimEnd();
  if (text === '{}') return {};
  if (text === '[]') return [];
  if (NOT_PLAIN_START.test(text) && !(q === 45 && text.length > 1 && text.charCodeAt(1) !== 32)) return decline();
  if (PLAIN_ODD.test(text)) return decline();
  return resolvePlain(text);
}
