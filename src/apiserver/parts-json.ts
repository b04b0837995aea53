// JSON text of stored objects with the text of their shared parts reused. The store hash-conses the
// parts of small objects (TreeInterner: spec, status, labels, managedFields...) and tells us which
// parts it found in two objects or more (keepTextOf). A shared part is frozen, so its text can never
// change: it is serialized once and spliced into every object that holds it. At vmworld the 200,000
// listed objects are 417 MB of JSON, 216 MB of which are repeats of 2,112 distinct parts (1.9 MB of
// text), mostly managedFields.
/**
 * Shared parts: null until first serialized, then their text. Only parts held by several objects:
 * keeping the text of every part met twice (a write, then a list) came to every part's text after
 * a few relists (~70 MB at vmworld). Weak, so an entry goes with its part.
 */
const sharedTexts = new WeakMap<object, string | null>();

/** `part` (frozen) is held by more than one stored object: its text is worth keeping. */
export function keepTextOf(part: object): void {
  if (!sharedTexts.has(part)) sharedTexts.set(part, null);
}

/** JSON.stringify of the member names met (a few dozen distinct ones in stored objects). */
const keyTexts = new Map<string, string>();
const KEY_TEXTS_MAX = 4096;

function keyJson(k: string): string {
  let t = keyTexts.get(k);
  if (t === undefined) {
    t = JSON.stringify(k);
    if (keyTexts.size < KEY_TEXTS_MAX) keyTexts.set(k, t);
  }
  return t;
}

function valueJson(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const kept = sharedTexts.get(v);
  if (kept === undefined) return JSON.stringify(v);
  if (kept !== null) return kept;
  // A frozen part cannot change; one that is not (not expected of a stored object) is read afresh.
  const text = JSON.stringify(v);
  if (Object.isFrozen(v)) sharedTexts.set(v, text);
  return text;
}

const isOwnRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !Object.isFrozen(v);

/** A member whose text the caller has already (a large HostFilter's spec, see Api.serialize). */
export interface GivenMember {
  member: string;
  text: string;
}

/**
 * Exactly JSON.stringify(obj) for a JSON object (no toJSON members): members in the same order,
 * undefined ones left out. The object and its metadata are walked; every other member is serialized
 * whole, a shared part from its kept text, `given.member` as `given.text`.
 */
export function partsJson(obj: Record<string, unknown>, given?: GivenMember): string {
  if (Array.isArray(obj) || typeof obj.toJSON === 'function') return JSON.stringify(obj);
  let out = '{';
  let sep = '';
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    const text = given !== undefined && k === given.member ? given.text : k === 'metadata' && isOwnRecord(v) ? partsJson(v) : valueJson(v);
    if (text === undefined) continue;
    out += sep + keyJson(k) + ':' + text;
    sep = ',';
  }
  return out + '}';
}
