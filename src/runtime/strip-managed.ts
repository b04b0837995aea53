// Members of list items dropped before the list is parsed. metadata.managedFields above all: they are
// half the bytes of every object kube-apiserver lists (one entry per writer, with the field set it
// owns), and an informer throws them away after parsing (stripManagedFields): at 200,000 objects,
// decoding, parsing and collecting them was a large part of an operator restart. An informer whose
// transform throws away more (the operator keeps only a HostFilter's hash, not its ~150 KB of
// programs) names those members too, so they are never parsed either.
//
// Works on the UTF-8 bytes, exactly: a small JSON scanner follows strings (escapes included; every
// byte of a multi-byte character is >= 0x80, so never a quote or a backslash), nesting and member
// keys, and drops only `items[*].<member>.<name>` for the members and names asked for, in a list
// object. Anything it does not expect (not an object with items, malformed text) returns the input as
// it was, for JSON.parse to judge. parseListItems (what the client's list uses) parses the kept bytes
// item by item instead of returning them, so no page is ever one string.
import { setOwn } from '../util/own-keys';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;

const ITEMS = Buffer.from('"items"');
const OBJECT = Buffer.from('"object"');
const TYPE = Buffer.from('"type"');
const quoted = (key: string) => Buffer.from(JSON.stringify(key));

/** Per top-level member of an item (`metadata`, `spec`), the names of its members to drop. */
export type ItemMemberDrops = Readonly<Record<string, readonly string[]>>;

export const MANAGED_FIELDS: ItemMemberDrops = { metadata: ['managedFields'] };

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Index just past the string that starts at `i` (a quote), or -1 when it does not end. */
function endOfString(b: Uint8Array, i: number): number {
  for (let j = i + 1; j < b.length; j++) {
    const c = b[j]!;
    if (c === BACKSLASH) j++;
    else if (c === QUOTE) return j + 1;
  }
  return -1;
}

/** Index just past the JSON value that starts at `i` (after any spaces), or -1. */
function endOfValue(b: Uint8Array, i: number): number {
  while (i < b.length && isSpace(b[i]!)) i++;
  if (i >= b.length) return -1;
  const c = b[i]!;
  if (c === QUOTE) return endOfString(b, i);
  if (c !== OPEN_OBJ && c !== OPEN_ARR) {
    // number, true, false, null: up to the next delimiter
    let j = i;
    while (j < b.length) {
      const d = b[j]!;
      if (d === COMMA || d === CLOSE_OBJ || d === CLOSE_ARR || isSpace(d)) break;
      j++;
    }
    return j;
  }
  // The hot loop of every list (managedFields are half the bytes): strings skipped inline, and one
  // test each for both openers and both closers ('[' | 0x20 is '{', ']' | 0x20 is '}').
  const n = b.length;
  let depth = 0;
  for (let j = i; j < n; j++) {
    const c = b[j]!;
    if (c === QUOTE) {
      for (j++; j < n; j++) {
        const s = b[j]!;
        if (s === QUOTE) break;
        if (s === BACKSLASH) j++;
      }
      if (j >= n) return -1;
      continue;
    }
    const d = c | 0x20;
    if (d === OPEN_OBJ) depth++;
    else if (d === CLOSE_OBJ && --depth === 0) return j + 1;
  }
  return -1;
}

/** Whether the key in `b[from, to)` has an escape: it may spell a name ("obj\u0065ct") the scanner looks for. */
const hasEscape = (b: Uint8Array, from: number, to: number) => {
  for (let k = from; k < to; k++) if (b[k] === BACKSLASH) return true;
  return false;
};

const same = (b: Uint8Array, from: number, to: number, word: Uint8Array) => {
  if (to - from !== word.length) return false;
  for (let k = 0; k < word.length; k++) if (b[from + k] !== word[k]) return false;
  return true;
};

/** Whether the key in `b[from, to)` is one of `words` (a loop: a closure per member was ~150 MB of garbage a restart). */
function sameAsAny(b: Uint8Array, from: number, to: number, words: readonly Uint8Array[]): boolean {
  for (let w = 0; w < words.length; w++) if (same(b, from, to, words[w]!)) return true;
  return false;
}

/**
 * Walks the members of the object starting at `i` (a `{`), calling `member(keyFrom, keyTo, valueFrom)`
 * for each; `member` returns where the value ends. Returns the index past the object's `}`, or -1.
 */
function members(b: Uint8Array, i: number, member: (keyFrom: number, keyTo: number, valueFrom: number) => number): number {
  let j = i + 1;
  for (;;) {
    while (j < b.length && isSpace(b[j]!)) j++;
    if (b[j] === CLOSE_OBJ) return j + 1;
    if (b[j] !== QUOTE) return -1;
    const keyTo = endOfString(b, j);
    if (keyTo < 0) return -1;
    let v = keyTo;
    while (v < b.length && isSpace(b[v]!)) v++;
    if (b[v] !== COLON) return -1;
    const end = member(j, keyTo, v + 1);
    if (end < 0) return -1;
    j = end;
    while (j < b.length && isSpace(b[j]!)) j++;
    if (b[j] === COMMA) j++;
    else if (b[j] === CLOSE_OBJ) return j + 1;
    else return -1;
  }
}

/**
 * Top-level members of each item that parseListItems cuts from what it parses and hands over as their
 * text instead (listedPartTexts), when a member's value is at most `maxBytes` long. For an informer
 * that decodes each distinct text once (memoParts): at vmworld 79,729 policies carry 26,615
 * distinct specs and 316 distinct statuses, and parsing every copy only to throw it away for the
 * first was most of the cost of listing them.
 */
export interface PartTexts {
  names: readonly string[];
  maxBytes: number;
}

/** While an item is walked: per part name, [keyFrom, valueFrom, valueTo] (-1 when not seen). */
interface PartSpans {
  keys: Buffer[];
  at: number[];
  /** A part name seen twice, or a member name with an escape (which could spell a part name). */
  spoiled: boolean;
}

/**
 * The JSON text of the members parseListItems cut from a listed item (see PartTexts), as the server
 * sent them. The item has none of these members: its reader puts each back, parsed from its text
 * or taken from an earlier decode of the same text (equal texts parse to equal values). A member
 * is cut only when the item has exactly one member of that name and no escaped member name (which
 * JSON.parse could read as the same name), so the text is that of the value JSON.parse would keep.
 */
export const listedPartTexts = new WeakMap<object, Record<string, string>>();

/** The quoted keys to look for, once per drops object (an informer passes the same one for every page). */
type Plan = { key: Buffer; names: Buffer[] }[];
const plans = new WeakMap<ItemMemberDrops, Plan>();
function planOf(drops: ItemMemberDrops): Plan {
  let plan = plans.get(drops);
  if (!plan) plans.set(drops, (plan = Object.entries(drops).map(([member, names]) => ({ key: quoted(member), names: names.map(quoted) }))));
  return plan;
}

/** The list's bytes without `items[*].metadata.managedFields` (the same buffer when there are none). */
export function stripListManagedFields(b: Buffer): Buffer {
  return stripListItemMembers(b, MANAGED_FIELDS);
}

/** The list's bytes without `items[*].<member>.<name>` for each member and name in `drops`. */
export function stripListItemMembers(b: Buffer, drops: ItemMemberDrops): Buffer {
  const cuts: number[] = [];
  const ok = walkList(b, drops, cuts);
  if (!ok || cuts.length === 0) return b;
  return cutSpans(b, cuts);
}

/**
 * A list response parsed item by item, without `items[*].<member>.<name>` for the `drops` given;
 * undefined when the bytes are not a list object this scanner follows (the caller parses them whole,
 * for JSON.parse to judge). Each item is decoded and parsed from its own bytes: a 500-item page
 * decoded whole is one string of about a megabyte, which V8 allocates in its large-object space, and
 * an operator restart (400 pages) left one of those per page for the next full GC to free.
 */
export function parseListItems(b: Buffer, drops: ItemMemberDrops, opts: { partTexts?: PartTexts } = {}): Record<string, unknown> | undefined {
  const cuts: number[] = [];
  const spans: number[] = [];
  const others: [string, number, number][] = [];
  // Only members with nothing dropped inside them: the text must be what the reader parses.
  const names = opts.partTexts?.names.filter((n) => !(n in drops)) ?? [];
  const parts = names.length ? { names, maxBytes: opts.partTexts!.maxBytes, texts: [] as (number[] | undefined)[] } : undefined;
  if (!walkList(b, drops, cuts, spans, others, parts)) return undefined;
  const out: Record<string, unknown> = {};
  // As JSON.parse does: an own "__proto__" member stays a member, never a prototype.
  for (const [key, from, to] of others) setOwn(out, key, JSON.parse(b.toString('utf8', from, to)));
  const items: unknown[] = [];
  let c = 0;
  for (let k = 0; k < spans.length; k += 2) {
    const to = spans[k + 1]!;
    const first = c;
    while (c < cuts.length && cuts[c]! < to) c += 2;
    const item = parseKept(b, cuts, first, c, spans[k]!, to) as object;
    items.push(item);
    const cut = parts?.texts[k / 2];
    if (cut) {
      const texts: Record<string, string> = {};
      for (let p = 0; p < cut.length; p += 3) texts[names[cut[p]!]!] = b.toString('utf8', cut[p + 1]!, cut[p + 2]!);
      listedPartTexts.set(item, texts);
    }
  }
  setOwn(out, 'items', items);
  return out;
}

/**
 * One watch event line (`{"type":…,"object":{…}}`) parsed without `object.<member>.<name>` for the
 * `drops` given; undefined when the line is not an event this scanner follows (the caller parses it
 * whole). The operator keeps only a HostFilter's hash: each filter write and each status report of an
 * agent arrives as a ~160 KB event, which parsed whole was one large-object string and a tree of
 * programs thrown away at once.
 */
export function parseWatchEvent(b: Buffer, drops: ItemMemberDrops): { type: unknown; object: unknown } | undefined {
  const plan = planOf(drops);
  const cuts: number[] = [];
  let type: [number, number] | undefined;
  let object: [number, number] | undefined;
  let i = 0;
  while (i < b.length && isSpace(b[i]!)) i++;
  if (b[i] !== OPEN_OBJ) return undefined;
  const end = members(b, i, (kf, kt, vf) => {
    if (hasEscape(b, kf, kt)) return -1; // could be a second "type" or "object": JSON.parse judges
    let v = vf;
    while (v < b.length && isSpace(b[v]!)) v++;
    if (same(b, kf, kt, OBJECT)) {
      if (object || b[v] !== OPEN_OBJ) return -1; // a second "object", or not an object: parse whole
      const e = itemCuts(b, v, plan, cuts);
      if (e >= 0) object = [v, e];
      return e;
    }
    const e = endOfValue(b, vf);
    if (same(b, kf, kt, TYPE)) {
      if (type) return -1;
      type = [v, e];
    }
    return e;
  });
  if (end < 0 || !type || !object) return undefined;
  for (let j = end; j < b.length; j++) if (!isSpace(b[j]!)) return undefined;
  return { type: JSON.parse(b.toString('utf8', type[0], type[1])), object: parseKept(b, cuts, 0, cuts.length, object[0], object[1]) };
}

/** The value in `b[from, to)` parsed without the member spans `cuts[cutFrom, cutTo)` (all within it). */
function parseKept(b: Buffer, cuts: number[], cutFrom: number, cutTo: number, from: number, to: number): unknown {
  if (cutFrom === cutTo) return JSON.parse(b.toString('utf8', from, to));
  // The kept bytes as strings: JSON.parse reads the concatenation without a copy into a Buffer.
  const kept = keptRanges(b, cuts, cutFrom, cutTo, from, to);
  let text = '';
  for (let r = 0; r < kept.length; r += 2) text += b.toString('utf8', kept[r]!, kept[r + 1]!);
  return JSON.parse(text);
}

/**
 * Pushes onto `cuts` the spans of `<member>.<name>` in the object that starts at `from` (a `{`), for
 * each member and names of `plan`; returns the index past the object, or -1.
 */
function itemCuts(b: Buffer, from: number, plan: Plan, cuts: number[], parts?: PartSpans): number {
  return members(b, from, (kf, kt, vf) => {
    let v = vf;
    while (v < b.length && isSpace(b[v]!)) v++;
    if (parts) {
      for (let p = 0; p < parts.keys.length; p++) {
        if (!same(b, kf, kt, parts.keys[p]!)) continue;
        const end = endOfValue(b, v);
        if (parts.at[3 * p]! >= 0) parts.spoiled = true; // JSON.parse keeps the last of several
        parts.at[3 * p] = kf;
        parts.at[3 * p + 1] = v;
        parts.at[3 * p + 2] = end;
        return end;
      }
      // A key with an escape may spell a part's name otherwise ("sp\u0065c"), which JSON.parse reads
      // as that name: no texts for this item then.
      if (hasEscape(b, kf, kt)) parts.spoiled = true;
    }
    if (b[v] === OPEN_OBJ) {
      for (const p of plan) {
        if (!same(b, kf, kt, p.key)) continue;
        return members(b, v, (nkf, nkt, nvf) => {
          const end = endOfValue(b, nvf);
          if (end >= 0 && sameAsAny(b, nkf, nkt, p.names)) cuts.push(nkf, end);
          return end;
        });
      }
    }
    return endOfValue(b, vf);
  });
}

/**
 * Walks a list object: pushes onto `cuts` the spans of `items[*].<member>.<name>` to drop, onto
 * `spans` each item's span (objects only) and onto `others` each top-level member but `items` (key,
 * value span). False when the bytes are not an object this scanner follows.
 */
function walkList(b: Buffer, drops: ItemMemberDrops, cuts: number[], spans?: number[], others?: [string, number, number][], parts?: { names: readonly string[]; maxBytes: number; texts: (number[] | undefined)[] }): boolean {
  const plan = planOf(drops);
  let i = 0;
  while (i < b.length && isSpace(b[i]!)) i++;
  if (b[i] !== OPEN_OBJ) return false;
  let sawItems = false;
  const partSpans: PartSpans | undefined = parts ? { keys: parts.names.map(quoted), at: [], spoiled: false } : undefined;
  const items = (from: number): number => {
    if (sawItems && spans) return -1; // a second "items" member (JSON.parse keeps the last): parse whole
    sawItems = true;
    let j = from + 1;
    for (;;) {
      while (j < b.length && isSpace(b[j]!)) j++;
      if (b[j] === CLOSE_ARR) return j + 1;
      const isObject = b[j] === OPEN_OBJ;
      if (!isObject && spans) return -1; // an item that is not an object: parse the list whole
      const itemCutsFrom = cuts.length;
      if (partSpans) {
        partSpans.at.length = 0;
        for (let p = 0; p < partSpans.keys.length; p++) partSpans.at.push(-1, -1, -1);
        partSpans.spoiled = false;
      }
      const end = isObject ? itemCuts(b, j, plan, cuts, partSpans) : endOfValue(b, j);
      if (end < 0) return -1;
      spans?.push(j, end);
      if (partSpans) parts!.texts.push(partSpans.spoiled ? undefined : cutParts(partSpans, parts!.maxBytes, cuts, itemCutsFrom));
      j = end;
      while (j < b.length && isSpace(b[j]!)) j++;
      if (b[j] === COMMA) j++;
      else if (b[j] === CLOSE_ARR) return j + 1;
      else return -1;
    }
  };
  const end = members(b, i, (kf, kt, vf) => {
    if (hasEscape(b, kf, kt)) return -1; // could be a second "items": JSON.parse judges
    let v = vf;
    while (v < b.length && isSpace(b[v]!)) v++;
    if (same(b, kf, kt, ITEMS) && b[v] === OPEN_ARR) return items(v);
    const e = endOfValue(b, vf);
    if (e >= 0 && others) others.push([JSON.parse(b.toString('utf8', kf, kt)) as string, v, e]);
    return e;
  });
  if (end < 0) return false;
  // Only spaces may follow the object; a list without items is parsed whole by the caller.
  for (let j = end; j < b.length; j++) if (!isSpace(b[j]!)) return false;
  return !spans || sawItems;
}

/**
 * Adds the item's parts no longer than `maxBytes` to its cuts (kept in order: `cuts` from `from` on
 * are the item's); returns them as [name index, value from, value to] triples, or undefined if none.
 */
function cutParts(parts: PartSpans, maxBytes: number, cuts: number[], from: number): number[] | undefined {
  let texts: number[] | undefined;
  for (let p = 0; p < parts.keys.length; p++) {
    const keyFrom = parts.at[3 * p]!, valueFrom = parts.at[3 * p + 1]!, valueTo = parts.at[3 * p + 2]!;
    if (keyFrom < 0 || valueTo - valueFrom > maxBytes) continue;
    (texts ??= []).push(p, valueFrom, valueTo);
    let at = cuts.length;
    while (at > from && cuts[at - 2]! > keyFrom) at -= 2;
    cuts.splice(at, 0, keyFrom, valueTo);
  }
  return texts;
}

/** `b` without each member span (key through value), and one comma next to each. */
function cutSpans(b: Buffer, cuts: number[]): Buffer {
  const kept = keptRanges(b, cuts, 0, cuts.length, 0, b.length);
  const parts: Buffer[] = [];
  for (let k = 0; k < kept.length; k += 2) parts.push(b.subarray(kept[k]!, kept[k + 1]!));
  return Buffer.concat(parts);
}

/**
 * The ranges of `b[start, end)` kept, as pairs [from, to), when each member span in
 * `cuts[cutFrom, cutTo)` (all within) is cut with one comma next to it: the comma after the member,
 * or if there is none (the last member) the comma before it.
 */
function keptRanges(b: Buffer, cuts: number[], cutFrom: number, cutTo: number, start: number, end: number): number[] {
  const kept: number[] = [];
  let at = start;
  for (let k = cutFrom; k < cutTo; k += 2) {
    let from = cuts[k]!;
    let to = cuts[k + 1]!;
    let after = to;
    while (after < end && isSpace(b[after]!)) after++;
    if (after < end && b[after] === COMMA) to = after + 1;
    else {
      let before = from - 1;
      while (before >= at && isSpace(b[before]!)) before--;
      if (before >= at && b[before] === COMMA) from = before;
      else if (before < at) dropTrailingComma(b, kept); // the member before was cut too: its comma is kept
    }
    kept.push(at, from);
    at = to;
  }
  kept.push(at, end);
  return kept;
}

/** Removes the comma that ends the last kept bytes (after spaces), if one does, splitting its range. */
function dropTrailingComma(b: Buffer, kept: number[]): void {
  for (let p = kept.length - 2; p >= 0; p -= 2) {
    const from = kept[p]!;
    const to = kept[p + 1]!;
    let j = to - 1;
    while (j >= from && isSpace(b[j]!)) j--;
    if (j < from) continue;
    if (b[j] === COMMA) kept.splice(p, 2, from, j, j + 1, to);
    return;
  }
}
