// One pass over a JSON text before it is parsed: nesting depth (kube-apiserver refuses deeper
// documents; deep ones would otherwise overflow the stack of the recursive code after parsing) and
// duplicate keys in one object (an error under fieldValidation=Strict, a warning under Warn).
// Iterative, so hostile input cannot overflow it either.

/** Deeper than this is refused with 400 (the recursive steps after parsing stay far from the stack limit). */
export const MAX_JSON_DEPTH = 1000;

export interface JsonScan {
  depth: number;
  /** Paths ("spec.x") of keys that occur twice in one object. */
  duplicates: string[];
}

/** Keys of one object seen so far: a short list searched in place, a Set once the object grows. */
type SeenKeys = string[] | Set<string>;
const SET_FROM = 16;

export function scanJson(text: string, maxDepth = MAX_JSON_DEPTH): JsonScan {
  // One entry per open object (its keys) or array (null).
  const keys: (SeenKeys | null)[] = [];
  const path: string[] = [];
  let depth = 0;
  let max = 0;
  const duplicates: string[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: its closing quote is the next one not escaped (found natively, not char by char:
      // string contents are most of a 150 KB HostFilter).
      let j = text.indexOf('"', i + 1);
      for (;;) {
        if (j < 0) {
          j = text.length;
          break;
        }
        let backslashes = 0;
        while (text.charCodeAt(j - 1 - backslashes) === 0x5c) backslashes++;
        if (backslashes % 2 === 0) break;
        j = text.indexOf('"', j + 1);
      }
      const seen = keys.length > 0 ? keys[keys.length - 1] : null;
      if (seen && expectKey) {
        let key = text.slice(i + 1, j);
        if (key.includes('\\')) {
          try {
            key = JSON.parse(text.slice(i, j + 1)) as string;
          } catch {
            // left as written
          }
        }
        if (Array.isArray(seen) ? seen.includes(key) : seen.has(key)) duplicates.push([...path.slice(0, -1), key].join('.'));
        else if (Array.isArray(seen)) {
          seen.push(key);
          if (seen.length === SET_FROM) keys[keys.length - 1] = new Set(seen);
        } else seen.add(key);
        path[path.length - 1] = key;
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) max = depth;
      if (depth > maxDepth) return { depth, duplicates };
      keys.push(c === 0x7b ? [] : null);
      path.push('');
      expectKey = c === 0x7b;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
      keys.pop();
      path.pop();
    } else if (c === 0x2c) {
      expectKey = keys.length > 0 && keys[keys.length - 1] !== null;
    }
  }
  return { depth: max, duplicates };
}

/** Depth of an already parsed value (YAML bodies), iteratively. */
export function valueDepth(v: unknown, maxDepth = MAX_JSON_DEPTH): number {
  let max = 0;
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d > max) max = d;
    if (max > maxDepth) return max;
    for (const y of Array.isArray(x) ? x : Object.values(x)) stack.push([y, d + 1]);
  }
  return max;
}
