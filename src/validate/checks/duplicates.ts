// Two manifests for the same object: the later one silently replaces the earlier on apply.
import type { LoadedObject } from '../../manifests/load';
import { findingAt, type Finding } from '../finding';

export function checkDuplicates(objects: readonly LoadedObject[]): Finding[] {
  const out: Finding[] = [];
  const seen = new Map<string, LoadedObject>();
  for (const src of objects) {
    const o = src.object as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
    if (typeof o !== 'object' || o === null) continue;
    const { apiVersion, kind } = o;
    const name = o.metadata?.name;
    if (typeof apiVersion !== 'string' || typeof kind !== 'string' || typeof name !== 'string') continue;
    const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
    const ns = typeof o.metadata?.namespace === 'string' ? o.metadata.namespace : '';
    const key = [group, kind, ns, name].join('\u0000');
    const first = seen.get(key);
    if (first) out.push(findingAt(src, ['metadata', 'name'], `duplicate ${kind} "${ns ? `${ns}/` : ''}${name}" (also at ${first.file}:${first.line})`));
    else seen.set(key, src);
  }
  return out;
}
