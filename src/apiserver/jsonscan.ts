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

export function scanJson(text: string, maxDepth = MAX_JSON_DEPTH): JsonScan {
  const keys: (Set<string> | null)[] = [];
  const path: string[] = [];
  let depth = 0;
  let max = 0;
  const duplicates: string[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // string
      let j = i + 1;
      let escaped = false;
      for (; j < text.length; j++) {
        const d = text.charCodeAt(j);
        if (d === 0x5c) {
          j++;
          escaped = true;
        } else if (d === 0x22) break;
      }
      const inObject = keys.length > 0 && keys[keys.length - 1] !== null;
      if (inObject && expectKey) {
        const raw = text.slice(i + 1, j);
        let key = raw;
        if (escaped) {
          try {
            key = JSON.parse(text.slice(i, j + 1)) as string;
          } catch {
            key = raw;
          }
        }
        const set = keys[keys.length - 1]!;
        if (set.has(key)) duplicates.push([...path.slice(0, -1), key].join('.'));
        set.add(key);
        path[path.length - 1] = key;
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) max = depth;
      if (depth > maxDepth) return { depth, duplicates };
      keys.push(c === 0x7b ? new Set() : null);
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
