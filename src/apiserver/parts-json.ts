// JSON text of stored objects with the text of their shared parts reused. The store hash-conses the
// parts of small objects (TreeInterner: spec, status, labels, managedFields...), and a shared part is
// frozen, so its text can never change: serialized the second time it is met, it is kept and spliced
// into every later object that holds it. At vmworld the 200,000 listed objects are 417 MB of JSON,
// 216 MB of which are repeats of 2,112 distinct parts (1.9 MB of text), mostly managedFields.
/**
 * Per frozen part: null once serialized (met once: most parts belong to one object, whose text would
 * only be kept alive), its text from the second time on. Weak, so a part's entry goes with the part.
 */
const partTexts = new WeakMap<object, string | null>();

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
  if (v === null || typeof v !== 'object' || !Object.isFrozen(v)) return JSON.stringify(v);
  const kept = partTexts.get(v);
  if (typeof kept === 'string') return kept;
  const text = JSON.stringify(v);
  partTexts.set(v, kept === null ? text : null);
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
 * whole, a frozen one from its kept text when it has one, `given.member` as `given.text`.
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
