// One list page from bytes to schema-checked objects, as plain data that can cross to another thread:
// what an informer's list does per page, apart from its cache. ListDecoder runs it on a worker thread
// (list-worker.ts) so an operator restart decodes its largest lists on the second core while the main
// thread fills the caches; it runs the same function in-thread when no worker can be had.
//
// Each distinct text of a memo part (spec, status; see PartTexts) is parsed and checked once per list
// and sent once: later items carry its index in its place (DecodedItem.refs), which the reader swaps
// for the value it was sent first.
import { z } from 'zod';
import { decodeWith, type FieldError } from '../api/decode';
import { listedPartTexts, parseListItems, type ItemMemberDrops } from './strip-managed';
import { setOwn } from '../util/own-keys';

export interface PageRequest {
  drops: ItemMemberDrops;
  /** Members (`spec`, `status`) whose distinct texts are decoded once per list. */
  memoNames: readonly string[];
  memoMaxBytes: number;
}

/** An object the schema took (its `refs` members hold part indexes), or one it refused, as it came. */
export type DecodedItem = { v: Record<string, unknown>; refs?: string[] } | { raw: Record<string, unknown>; errors: FieldError[] };

export interface DecodedPage {
  metadata: { resourceVersion?: string; continue?: string };
  /** Parts first seen on this page: [member name, index, checked value]. */
  parts: [string, number, unknown][];
  items: DecodedItem[];
}

/** What one list remembers between its pages: per member name, each text's part index (-1: refused). */
export class ListMemo {
  readonly texts = new Map<string, Map<string, number>>();
  private next = 0;
  index(name: string, text: string): number | undefined {
    return this.texts.get(name)?.get(text);
  }
  add(name: string, text: string, ok: boolean): number {
    let m = this.texts.get(name);
    if (!m) this.texts.set(name, (m = new Map()));
    const i = ok ? this.next++ : -1;
    m.set(text, i);
    return i;
  }
}

/** Per schema: the schema without some members (by their names joined), and each member's own schema. */
interface SchemaParts {
  without: Map<string, z.ZodType | null>;
  keys: string[];
}
const schemaParts = new WeakMap<z.ZodObject, SchemaParts>();

function partsOf(schema: z.ZodObject): SchemaParts {
  let p = schemaParts.get(schema);
  if (!p) schemaParts.set(schema, (p = { without: new Map(), keys: Object.keys(schema.shape) }));
  return p;
}

function without(schema: z.ZodObject, names: string[]): z.ZodType | undefined {
  const p = partsOf(schema);
  const id = names.join(',');
  let s = p.without.get(id);
  if (s === undefined) {
    try {
      s = schema.omit(Object.fromEntries(names.map((n) => [n, true])) as never);
    } catch {
      s = null; // zod refuses omit() on an object with refinements: parse whole
    }
    p.without.set(id, s);
  }
  return s ?? undefined;
}

/**
 * Decode one page of a list: bytes to items checked by `schema` (a plain zod object of a kind, as the
 * registry has it). Throws when the bytes are not a list object (the caller's list then fails).
 */
export function decodeListPage(body: Uint8Array, req: PageRequest, schema: z.ZodObject, memo: ListMemo): DecodedPage {
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const names = req.memoNames.filter((n) => Object.hasOwn(schema.shape, n));
  const list = parseListItems(b, req.drops, { partTexts: names.length ? { names, maxBytes: req.memoMaxBytes } : undefined }) ?? JSON.parse(b.toString('utf8'));
  if (!list || typeof list !== 'object' || Array.isArray(list) || !('items' in list) || (list.items !== null && !Array.isArray(list.items)))
    throw new Error('the response is not a list object');
  const parts: DecodedPage['parts'] = [];
  const items: DecodedItem[] = [];
  for (const item of (list.items ?? []) as Record<string, unknown>[]) {
    if (!item || typeof item !== 'object' || Array.isArray(item)) throw new Error(`list item ${items.length} is not an object`);
    items.push(decodeItem(item, listedPartTexts.get(item), schema, memo, parts));
  }
  const meta = (list as { metadata?: DecodedPage['metadata'] }).metadata ?? {};
  return { metadata: { resourceVersion: meta.resourceVersion, continue: meta.continue }, parts, items };
}

function decodeItem(raw: Record<string, unknown>, texts: Record<string, string> | undefined, schema: z.ZodObject, memo: ListMemo, parts: DecodedPage['parts']): DecodedItem {
  const refs: string[] = [];
  const known: Record<string, number> = {};
  for (const [name, text] of Object.entries(texts ?? {})) {
    let i = memo.index(name, text);
    if (i === undefined) {
      const value: unknown = JSON.parse(text);
      const d = decodeWith(schema.shape[name] as z.ZodType, value);
      i = memo.add(name, text, d.ok);
      if (d.ok) parts.push([name, i, d.value]);
    }
    if (i >= 0) {
      refs.push(name);
      known[name] = i;
    } else setOwn(raw, name, JSON.parse(text));
  }
  const partial = refs.length ? without(schema, refs) : undefined;
  if (!partial) withTexts(raw, texts, refs); // no such schema: parsed whole
  const d = decodeWith(partial ?? schema, raw);
  if (!d.ok) {
    // Named by their paths in the whole object: a refused part of it is checked whole.
    if (!partial) return { raw, errors: d.errors };
    const w = decodeWith(schema, withTexts(raw, texts, refs));
    return { raw, errors: w.ok ? d.errors : w.errors };
  }
  if (!partial) return { v: d.value as Record<string, unknown> };
  // In the schema's member order, as a whole parse gives it; a ref holds its part's index.
  const v: Record<string, unknown> = {};
  const value = d.value as Record<string, unknown>;
  for (const k of partsOf(schema).keys) {
    const x = Object.hasOwn(known, k) ? known[k] : value[k];
    if (x !== undefined) v[k] = x;
  }
  return { v, refs };
}

/** The item with the parts it took from the memo put back as parsed from their texts. */
function withTexts(raw: Record<string, unknown>, texts: Record<string, string> | undefined, refs: string[]): Record<string, unknown> {
  for (const n of refs) setOwn(raw, n, JSON.parse(texts![n]!));
  refs.length = 0;
  return raw;
}
