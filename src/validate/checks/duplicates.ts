// Two manifests for the same object: the later one silently replaces the earlier on apply.
import type { LoadedObject } from '../../manifests/load';
import { findingAt, type Finding } from '../finding';

/** Objects seen so far, one at a time (streamed input); `first` may be a stand-in for the object. */
export class DuplicateCheck {
  private readonly seen = new Map<string, { file: string; line: number }>();

  add(src: LoadedObject): Finding | undefined {
    const o = src.object as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
    if (typeof o !== 'object' || o === null) return undefined;
    const { apiVersion, kind } = o;
    const name = o.metadata?.name;
    if (typeof apiVersion !== 'string' || typeof kind !== 'string' || typeof name !== 'string') return undefined;
    const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
    const ns = typeof o.metadata?.namespace === 'string' ? o.metadata.namespace : '';
    const key = [group, kind, ns, name].join('\u0000');
    const first = this.seen.get(key);
    if (first) return findingAt(src, ['metadata', 'name'], `duplicate ${kind} "${ns ? `${ns}/` : ''}${name}" (also at ${first.file}:${first.line})`);
    this.seen.set(key, { file: src.file, line: src.line });
    return undefined;
  }
}

export function checkDuplicates(objects: readonly LoadedObject[]): Finding[] {
  const check = new DuplicateCheck();
  const out: Finding[] = [];
  for (const src of objects) {
    const f = check.add(src);
    if (f) out.push(f);
  }
  return out;
}
