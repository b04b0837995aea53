// What a plain block-style YAML document holds, told from its text without parsing it: apiVersion,
// kind and metadata.namespace, for a reader that wants only some objects of a large file (`vmsafe
// trace` reads the policies of a few namespaces out of 80,000). Only when the text says so beyond
// doubt: one top-level key per line, plain values that YAML reads as those strings; anything else
// (quotes, flow style, anchors, tags, tabs, odd keys, YAML 1.1 words, number-like values, a key twice)
// is undefined, and the caller parses the document.

export interface DocIdentity {
  apiVersion: string;
  kind: string;
  /** metadata.namespace; undefined when metadata has none. */
  namespace: string | undefined;
}

/** A top-level (or metadata-level) key line: a plain identifier key, then the rest of the line. */
const KEY_LINE = /^([A-Za-z][A-Za-z0-9_-]*):(?: (.*))?$/;
/** Values that YAML reads as the same string, and that the objects' fields use. */
const PLAIN = /^[A-Za-z][A-Za-z0-9./-]*$/;
const NAMESPACE = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** Words YAML 1.1 (kubectl's go-yaml) reads as booleans or null, and `e5`-like floats and infinities. */
const RESOLVING = /^(?:y|yes|n|no|true|false|on|off|null|nan|inf|[0-9e.+-]+)$/i;

export function docIdentity(doc: string): DocIdentity | undefined {
  // Only printable ASCII and \n: JS trimming counts Unicode spaces that YAML keeps as content.
  if (/[^\x20-\x7e\n]/.test(doc)) return undefined;
  const len = doc.length;
  // Lines are visited by offset: only top-level and metadata lines are sliced (a policy's rules are
  // most of its lines, and none of them is read).
  let pos = 0;
  const lineEnd = (at: number) => {
    const e = doc.indexOf('\n', at);
    return e < 0 ? len : e;
  };
  if (doc.startsWith('---')) {
    const e = lineEnd(0);
    if (doc.slice(0, e).trimEnd() !== '---') return undefined;
    pos = e + 1;
  }
  const top = new Map<string, string>();
  let namespace: string | undefined;
  let sawMetadata = false;
  // Whether the key before has its value on its own line: deeper lines then are its block value,
  // else they would continue a multi-line plain scalar.
  let block = false;
  while (pos < len) {
    const end = lineEnd(pos);
    const c = doc.charCodeAt(pos);
    if (c === 32) {
      if (!block && !isBlank(doc.slice(pos, end))) return undefined;
      pos = end + 1;
      continue;
    }
    const line = doc.slice(pos, end);
    pos = end + 1;
    if (isBlank(line)) continue;
    const m = KEY_LINE.exec(line);
    if (!m || top.has(m[1]!)) return undefined;
    const value = (m[2] ?? '').trim();
    top.set(m[1]!, value);
    block = value === '' || value.startsWith('#');
    if (m[1] !== 'metadata') continue;
    // metadata: a block map whose keys sit at one indentation; `namespace` once, plain.
    if (value !== '') return undefined;
    sawMetadata = true;
    let indent = -1;
    let inner = false; // the key before is namespace (its value on the line): nothing may go deeper
    const seen = new Set<string>();
    while (pos < len) {
      const e = lineEnd(pos);
      const l = doc.slice(pos, e);
      if (isBlank(l)) {
        pos = e + 1;
        continue;
      }
      const n = l.length - l.trimStart().length;
      if (n === 0) break;
      pos = e + 1;
      if (indent < 0) indent = n;
      if (n < indent) return undefined;
      if (n > indent) {
        if (inner) return undefined;
        continue; // inside labels, annotations...: not ours to read
      }
      const k = KEY_LINE.exec(l.slice(n));
      if (!k || seen.has(k[1]!)) return undefined;
      seen.add(k[1]!);
      inner = k[1] === 'namespace';
      if (inner) {
        const v = stripComment(k[2] ?? '');
        if (v === undefined || !NAMESPACE.test(v) || RESOLVING.test(v)) return undefined;
        namespace = v;
      }
    }
  }
  const apiVersion = stripComment(top.get('apiVersion') ?? '');
  const kind = stripComment(top.get('kind') ?? '');
  if (!sawMetadata || !apiVersion || !kind || !PLAIN.test(apiVersion) || !PLAIN.test(kind) || RESOLVING.test(kind) || RESOLVING.test(apiVersion))
    return undefined;
  return { apiVersion, kind, namespace };
}

const isBlank = (l: string) => {
  const t = l.trimStart();
  return t === '' || t.startsWith('#');
};

/** The value without a trailing ` # comment`; undefined when what is left could be more than a plain word. */
function stripComment(v: string): string | undefined {
  const hash = v.indexOf(' #');
  const out = (hash >= 0 ? v.slice(0, hash) : v).trim();
  return out.includes('#') ? undefined : out;
}
