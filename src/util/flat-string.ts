// Concatenations kept for the life of the process (cache keys), built as one flat string.
//
// V8 builds `a + b` and template literals of 13 characters or more as a rope (a ConsString node of 32
// bytes per `+`) and, the first time the result is hashed as a Map key, copies it flat as well and
// keeps both (and every lookup goes through the rope): 89 bytes for a 39-character key, 56 built flat.
// A vmworld operator held ~690,000 rope nodes (21 MB) once its caches had filled, most of them keys.
// Array.join builds the flat string directly, in about twice the time of a template literal.

/** `parts` concatenated into one flat string. */
export function flatJoin(...parts: string[]): string {
  return parts.join('');
}

/** "namespace/name" (or the name of a cluster-scoped object), flat: the key of every object cache. */
export function namespacedKey(namespace: string | undefined, name: string): string {
  return namespace ? flatJoin(namespace, '/', name) : name;
}
