// Write a datacenter as manifests: one file kind per prefix, chunked so `kubectl apply -f DIR` copes.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Datacenter } from './datacenter';
import { toYamlStream } from './yaml';

/** Files are applied in name order: namespaces before what lives in them, tags before their users. */
export const FILE_ORDER = [
  ['namespaces', 'namespaces'],
  ['tags', 'tags'],
  ['tenants', 'tenants'],
  ['hosts', 'hosts'],
  ['policies', 'securitypolicies'],
  ['vms', 'vms'],
] as const satisfies readonly (readonly [keyof Datacenter, string])[];

/** Names this writer produces, e.g. `06-vms-0001.yaml` (stale ones from a bigger run are removed). */
const GENERATED = /^\d\d-[a-z]+-\d{4,}\.yaml$/;

export interface WriteOptions {
  /** Objects per file (default 1,000). */
  chunk?: number;
  /** Called after each file with objects written so far and the total. */
  progress?: (done: number, total: number) => void;
}

export interface WriteResult {
  files: string[];
  objects: number;
  bytes: number;
}

export function writeManifests(dc: Datacenter, dir: string, opts: WriteOptions = {}): WriteResult {
  const chunk = opts.chunk ?? 1000;
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (GENERATED.test(f)) rmSync(join(dir, f));
  const total = FILE_ORDER.reduce((n, [k]) => n + dc[k].length, 0);
  const files: string[] = [];
  let done = 0;
  let bytes = 0;
  FILE_ORDER.forEach(([key, name], i) => {
    const objects: readonly object[] = dc[key];
    for (let start = 0, part = 1; start < objects.length; start += chunk, part++) {
      const file = `${String(i + 1).padStart(2, '0')}-${name}-${String(part).padStart(4, '0')}.yaml`;
      // Empty lists are schema defaults here; leaving them out keeps the files readable.
      const text = toYamlStream(objects.slice(start, start + chunk), { omitEmptyLists: true });
      writeFileSync(join(dir, file), text);
      files.push(file);
      bytes += Buffer.byteLength(text);
      done += Math.min(chunk, objects.length - start);
      opts.progress?.(done, total);
    }
  });
  return { files, objects: total, bytes };
}
