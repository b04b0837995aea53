// Read manifests from files and directories into plain objects that remember where they came from.
//
// YAML is parsed as YAML 1.1, like kubectl (sigs.k8s.io/yaml): an unquoted `powerState: On` is the
// boolean true there, so we read it the same way and `vmsafe validate` reports what the API server
// would reject. JSON is valid YAML, so the YAML parser gives line numbers for both; *.json files take
// a fast path (JSON.parse) and build the YAML node tree only when a line inside an object is asked for.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fastDocuments, locateLine, type FastDocument } from './fast-yaml';
import {
  isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments,
  type DocumentOptions, type Node, type ParseOptions, type ScalarTag, type SchemaOptions,
} from 'yaml';

export type FieldPath = readonly (string | number)[];

export interface LoadedObject {
  /** The path as the user gave it, joined with the relative path inside a directory. */
  file: string;
  /** 1-based line where the object starts. */
  line: number;
  /** 0-based position of the object within its file (documents and `List` items in order). */
  index: number;
  object: unknown;
  /** Parsed node and its line table, for `lineOf`; absent for objects built in memory. */
  source?: { node: Node; lines: LineCounter };
  /**
   * Where the fast paths keep the source: the node tree on demand and, for YAML, a cheaper line lookup
   * that may decline. Non-enumerable; it holds no reference to `object` (see `withObject`).
   */
  locator?: Locator;
}

export interface Locator {
  tree(): { node: Node; lines: LineCounter } | undefined;
  line?(path: FieldPath): number | undefined;
}

/** The node tree of a loaded object, parsed now if it was deferred. */
const sourceOf = (loaded: LoadedObject) => (loaded.locator ? loaded.locator.tree() : loaded.source);

function located(file: string, line: number, index: number, object: unknown, locator: Locator): LoadedObject {
  const loaded: LoadedObject = { file, line, index, object };
  Object.defineProperty(loaded, 'locator', { enumerable: false, value: locator });
  return loaded;
}

/**
 * The same place with another object (e.g. a small stand-in once the full object has been checked),
 * so a long run can let the parsed objects go while findings still find their lines.
 */
export function withObject(loaded: LoadedObject, object: unknown): LoadedObject {
  if (loaded.locator) return located(loaded.file, loaded.line, loaded.index, object, loaded.locator);
  return { file: loaded.file, line: loaded.line, index: loaded.index, object, ...(loaded.source ? { source: loaded.source } : {}) };
}

export interface LoadError {
  file: string;
  /** 1-based line of a syntax error; absent when the file could not be read at all. */
  line?: number;
  message: string;
}

export interface LoadResult {
  objects: LoadedObject[];
  errors: LoadError[];
}

const MANIFEST_EXT = /\.(ya?ml|json)$/i;

/**
 * YAML 1.1 as kubectl's go-yaml reads it: bare on/off/yes/no are booleans and 0777 is octal, but there
 * are no base-60 numbers (`10:20:30:40:50:59` stays a MAC) and timestamps stay strings.
 */
const EXP_FLOAT = /^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$/;
const YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  customTags: (tags) =>
    tags
      .filter((t) => typeof t === 'string' || (t.format !== 'TIME' && !(t.tag ?? '').endsWith(':timestamp')))
      // An exponent needs a digit before it, as in go-yaml: `e5` is a string (a VM may well be named e5).
      .map((t) => (typeof t !== 'string' && !('collection' in t && t.collection) && t.format === 'EXP' && t.tag?.endsWith(':float') ? ({ ...t, test: EXP_FLOAT } as ScalarTag) : t)),
};

/** Load every manifest under `paths` (files, directories searched recursively in sorted order, or `-` for stdin). */
export async function loadManifests(paths: readonly string[]): Promise<LoadResult> {
  const result: LoadResult = { objects: [], errors: [] };
  for await (const r of streamManifests(paths)) {
    // A loop, not push(...xs): a generated file can hold more objects than a call has argument slots.
    for (const o of r.objects) result.objects.push(o);
    for (const e of r.errors) result.errors.push(e);
  }
  return result;
}

/** What `streamManifests` yields: one input file's objects and errors, and how far along the inputs are. */
export interface FileResult {
  file: string;
  /**
   * The file's objects, parsed as they are iterated (once). A caller that keeps only what it needs of
   * each (a decoded value, a stand-in) lets the parsed object die young instead of living through the
   * whole file's parse.
   */
  objects: Iterable<LoadedObject>;
  /** The file's errors: complete once `objects` has been iterated. */
  errors: LoadError[];
  /** Files read so far (this one included) and the number known so far (directories are listed up front). */
  progress: { done: number; total: number };
}

export interface StreamOptions {
  /**
   * Documents of a YAML file to pass over unread, judged from their text (docIdentity): a caller that
   * wants only some objects. A hint: documents the full parser reads are all given, so the caller still
   * picks what it wants from what it gets.
   */
  skip?: (doc: string) => boolean;
  /** Texts of the files read, by path: filled as files are read, and read from on the next stream of the same files. */
  texts?: Map<string, string>;
}

/**
 * The same as `loadManifests`, one file at a time and one object at a time, so a caller can check and
 * drop each object before the next is parsed (a datacenter's worth of parsed YAML is gigabytes).
 */
export async function* streamManifests(paths: readonly string[], opts: StreamOptions = {}): AsyncGenerator<FileResult> {
  const inputs: { file: string; error?: LoadError }[] = [];
  for (const p of paths) {
    if (p === '-') {
      inputs.push({ file: '-' });
      continue;
    }
    try {
      for (const file of await expand(p, true)) inputs.push({ file });
    } catch (err) {
      inputs.push({ file: p, error: { file: p, message: readMessage(err) } });
    }
  }
  // The next file is read while this one is parsed: a reader that skips most documents would
  // otherwise wait on the disk as long as it works.
  const read = async (input: (typeof inputs)[number]): Promise<{ text: string } | { error: string }> => {
    const cached = opts.texts?.get(input.file);
    if (cached !== undefined) return { text: cached };
    try {
      // `kustomize build | vmsafe validate -f -`, as with kubectl.
      const text = input.file === '-' ? await readStdin() : await readFile(input.file, 'utf8');
      opts.texts?.set(input.file, text); // stdin too: it can be read only once
      return { text };
    } catch (err) {
      return { error: readMessage(err) };
    }
  };
  let done = 0;
  let next = inputs[0] && !inputs[0].error ? read(inputs[0]) : undefined;
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i]!;
    const current = next;
    const after = inputs[i + 1];
    next = after && !after.error ? read(after) : undefined;
    const progress = { done: ++done, total: inputs.length };
    if (input.error) {
      yield { file: input.file, objects: [], errors: [input.error], progress };
      continue;
    }
    const file = input.file === '-' ? '<stdin>' : input.file;
    const got = await current!;
    if ('error' in got) {
      yield { file, objects: [], errors: [{ file, message: got.error }], progress };
      continue;
    }
    const errors: LoadError[] = [];
    yield { file, objects: manifestsOf(got.text, file, errors, opts.skip), errors, progress };
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Files named by `p`: the file itself (any extension), or the manifest files below a directory. */
async function expand(p: string, explicit: boolean): Promise<string[]> {
  const st = await stat(p);
  if (!st.isDirectory()) return explicit || MANIFEST_EXT.test(p) ? [p] : [];
  const entries = (await readdir(p)).filter((n) => !n.startsWith('.')).sort();
  const out: string[] = [];
  for (const name of entries) out.push(...(await expand(join(p, name), false)));
  return out;
}

function readMessage(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  return err instanceof Error ? err.message : String(err);
}

/**
 * Parse one file's text: multi-document YAML or JSON; a `kind: List` (or a top-level array) is
 * expanded into its items. Empty documents are skipped.
 */
export function parseManifests(text: string, file: string): LoadResult {
  const errors: LoadError[] = [];
  return { objects: [...manifestsOf(text, file, errors)], errors };
}

/** `parseManifests` as it goes: objects as they are read, errors into `errors`. */
function* manifestsOf(text: string, file: string, errors: LoadError[], skip?: (doc: string) => boolean): Generator<LoadedObject> {
  if (/\.json$/i.test(file)) {
    const fast = parseJson(text, file);
    if (fast) {
      yield* fast.objects;
      return;
    }
  }
  let given = 0;
  const docs = fastDocuments(text, skip);
  let stop: number;
  for (let step = docs.next(); ; step = docs.next()) {
    if (step.done) {
      if (step.value === 0) return;
      stop = step.value;
      break;
    }
    const doc = step.value;
    if (doc.skipped) {
      given++; // indexes stay those of the file's objects
      continue;
    }
    // Not the document itself: its `object` must be free to go once the caller is done with it.
    yield located(file, doc.line, given++, doc.object, new DocumentLocator(doc));
  }
  // The fast path stopped: the full parser reads the file, and gives what starts from that document on
  // (what came before was given, or skipped as asked: its errors are not this reader's to report).
  const full = parseYamlFully(text, file);
  for (const e of full.errors) if (e.line === undefined || e.line >= stop) errors.push(e);
  for (const o of full.objects) if (o.line >= stop) yield o;
}

class DocumentLocator implements Locator {
  private parsed?: { node: Node; lines: LineCounter } | undefined;
  private readonly text: string;
  private readonly base: number;
  private readonly start: number;
  constructor(doc: FastDocument) {
    // Not the document itself: its `object` must be free to go.
    this.text = doc.text;
    this.base = doc.base;
    this.start = doc.line;
  }
  tree() {
    return (this.parsed ??= documentTree(this.text, this.base));
  }
  line(path: FieldPath) {
    return locateLine({ text: this.text, base: this.base, line: this.start }, path);
  }
}

function documentTree(text: string, base: number): { node: Node; lines: LineCounter } | undefined {
  const counter = new LineCounter();
  const parsed = parseAllDocuments(text, { ...YAML_OPTIONS, lineCounter: counter });
  const node = Array.isArray(parsed) ? parsed[0]?.contents : undefined;
  if (!node) return undefined;
  // Lines of the whole file: the document starts on line `base`.
  const lines = {
    linePos: (offset: number) => {
      const p = counter.linePos(offset);
      return { line: p.line + base - 1, col: p.col };
    },
  };
  return { node, lines: lines as unknown as LineCounter };
}

/** The `yaml` parser on the whole text: every error with its line, every node (the fast path's reference). */
export function parseYamlFully(text: string, file: string): LoadResult {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { ...YAML_OPTIONS, lineCounter: lines, prettyErrors: false });
  const result: LoadResult = { objects: [], errors: [] };
  // A stream that is not even documents (e.g. a stray flow marker) comes back as an EmptyStream.
  if (!Array.isArray(docs)) return result;
  for (const doc of docs) {
    const syntax = doc.errors[0];
    if (syntax) {
      // The first error is the one to fix; the rest usually follow from it.
      result.errors.push({ file, line: lines.linePos(syntax.pos[0]).line, message: firstLine(syntax.message) });
      continue;
    }
    const root = doc.contents;
    if (!root) continue;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      // Well-formed but not constructible (a merge key on a scalar, too many aliases): this document's error.
      result.errors.push({ file, line: lineAt(lines, root), message: firstLine((err as Error).message) });
      continue;
    }
    if (value === null || value === undefined) continue;
    const add = (node: Node, object: unknown) =>
      result.objects.push({
        file,
        line: lineAt(lines, node),
        index: result.objects.length,
        object,
        source: { node, lines },
      });
    if (Array.isArray(value) && isSeq(root)) {
      value.forEach((item, i) => add(root.items[i] as Node, item));
    } else if (isList(value) && isMap(root)) {
      const itemsNode = root.get('items', true);
      const items = (value as { items: unknown[] }).items;
      if (isSeq(itemsNode)) items.forEach((item, i) => add(itemsNode.items[i] as Node, item));
    } else {
      add(root, value);
    }
  }
  return result;
}

function isList(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as { kind?: unknown; items?: unknown };
  return o.kind === 'List' && Array.isArray(o.items);
}

function firstLine(msg: string): string {
  return msg.split('\n')[0]!.trim();
}

function lineAt(lines: LineCounter, node: Node | null | undefined): number {
  const start = node?.range?.[0];
  return start === undefined ? 1 : lines.linePos(start).line;
}

/**
 * 1-based line of the field at `path` inside a loaded object, e.g. `['spec', 'vnics', 0, 'ip']`.
 * Map fields point at their key; list items at the item. A path that does not exist (a missing
 * required field) resolves to the deepest part that does, so the message still lands nearby.
 */
export function lineOf(loaded: LoadedObject, path: FieldPath): number {
  const fast = loaded.locator?.line?.(path);
  if (fast !== undefined) return fast;
  const src = sourceOf(loaded);
  if (!src) return loaded.line;
  let node: unknown = src.node;
  let line = lineAt(src.lines, src.node);
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      line = lineAt(src.lines, pair.key as Node);
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (!item) break;
      line = lineAt(src.lines, item as Node);
      node = item;
    } else {
      break;
    }
  }
  return line;
}

/** The parsed node at `path`, when there is one (to look at how a scalar was written). */
export function nodeAt(loaded: LoadedObject, path: FieldPath): Node | undefined {
  let node: unknown = sourceOf(loaded)?.node;
  for (const seg of path) {
    if (isMap(node)) node = node.get(seg, true);
    else if (isSeq(node) && typeof seg === 'number') node = node.items[seg];
    else return undefined;
  }
  return (node ?? undefined) as Node | undefined;
}

/** Parse `spec.vnics[0].ip` into `['spec', 'vnics', 0, 'ip']` (the format of `formatPath`). */
export function parseFieldPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (m[2] !== undefined) out.push(Number(m[2]));
    else if (m[1] !== undefined) out.push(m[1]);
  }
  return out;
}

/**
 * Fast path for JSON files (generated datacenters can hold 100,000 objects): JSON.parse for the values,
 * a one-pass scan for where each object starts, and the YAML node tree for `lineOf` only when asked.
 * Returns undefined for invalid JSON, so the YAML parser reports the error with its line.
 */
function parseJson(text: string, file: string): LoadResult | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null) return { objects: [], errors: [] };
  const list = Array.isArray(value) ? 'array' : isList(value) ? 'list' : 'object';
  const items: unknown[] = list === 'array' ? (value as unknown[]) : list === 'list' ? (value as { items: unknown[] }).items : [value];
  const starts = jsonItemStarts(text, list);
  if (starts.length !== items.length) return undefined; // cannot happen for valid JSON; be safe anyway
  const newlines: number[] = [];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) newlines.push(i);
  const lineAtOffset = (offset: number) => {
    let lo = 0;
    let hi = newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (newlines[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
  let tree: { nodes: Node[]; lines: LineCounter } | undefined;
  const nodes = () => (tree ??= yamlNodesOf(text, list));
  const objects = items.map((object, index) =>
    located(file, lineAtOffset(starts[index]!), index, object, {
      tree: () => {
        const t = nodes();
        const node = t.nodes[index];
        return node ? { node, lines: t.lines } : undefined;
      },
    }),
  );
  return { objects, errors: [] };
}

/** Offsets where each object starts: the root object, the root array's items, or a List's items. */
function jsonItemStarts(text: string, list: 'array' | 'list' | 'object'): number[] {
  const starts: number[] = [];
  let depth = 0;
  let key = '';
  let lastString = '';
  let itemsDepth = -1; // depth of the elements of the array whose items we collect
  if (list === 'array') itemsDepth = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === ' ' || c === '\n' || c === '\r' || c === '\t' || c === ',') continue;
    if (c === ':') {
      if (depth === 1) key = lastString;
      continue;
    }
    const valueStart = c !== '}' && c !== ']';
    const prev = prevSignificant(text, i);
    if (valueStart && depth === itemsDepth && prev !== ':' && (prev === '[' || prev === ',')) starts.push(i);
    if (list === 'object' && depth === 0 && c === '{') starts.push(i);
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      lastString = text.slice(i + 1, j);
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      if (list === 'list' && c === '[' && depth === 2 && key === 'items') itemsDepth = 2;
    } else if (c === '}' || c === ']') {
      if (list === 'list' && depth === 2 && c === ']' && itemsDepth === 2) itemsDepth = -1;
      depth--;
    }
  }
  return starts;
}

function prevSignificant(text: string, i: number): string {
  for (let j = i - 1; j >= 0; j--) {
    const c = text[j]!;
    if (c !== ' ' && c !== '\n' && c !== '\r' && c !== '\t') return c;
  }
  return '';
}

function yamlNodesOf(text: string, list: 'array' | 'list' | 'object'): { nodes: Node[]; lines: LineCounter } {
  const lines = new LineCounter();
  const root = parseAllDocuments(text, { ...YAML_OPTIONS, lineCounter: lines });
  const contents = Array.isArray(root) ? root[0]?.contents : undefined;
  if (!contents) return { nodes: [], lines };
  if (list === 'object') return { nodes: [contents], lines };
  const seq = list === 'array' ? contents : isMap(contents) ? contents.get('items', true) : undefined;
  return { nodes: isSeq(seq) ? (seq.items as Node[]) : [], lines };
}
