// Watches Object.prototype across requests to an in-process server: what a request added, removed or
// replaced there is reported and undone, so a regression fails one test and not the rest of the run.
export function protoGuard(): () => string[] {
  const P = Object.prototype as Record<PropertyKey, unknown>;
  const before = new Map(Reflect.ownKeys(P).map((k) => [k, Object.getOwnPropertyDescriptor(P, k)!]));
  return (): string[] => {
    const changes: string[] = [];
    for (const k of Reflect.ownKeys(P))
      if (!before.has(k)) {
        changes.push(`added ${String(k)}`);
        delete P[k];
      }
    for (const [k, d] of before) {
      const now = Object.getOwnPropertyDescriptor(P, k);
      if (!now || now.value !== d.value || now.get !== d.get || now.set !== d.set) {
        changes.push(`${now ? 'replaced' : 'removed'} ${String(k)}`);
        Object.defineProperty(P, k, d);
      }
    }
    return changes;
  };
}
