// `vmsafe validate -f PATH...` as a library call: stream the objects through a Validation, so a
// datacenter's manifests are checked one object at a time instead of all held parsed at once.
import { streamManifests, type LoadError } from '../manifests/load';
import type { Progress } from '../util/progress';
import type { Finding } from './finding';
import { Validation, type ValidateOptions } from './index';

export interface PathsResult {
  /** Unreadable or unparsable input; when there is any, `findings` is empty (fix reading first). */
  errors: LoadError[];
  findings: Finding[];
  objects: number;
  files: number;
}

export async function validatePaths(paths: readonly string[], opts: ValidateOptions & { progress?: Progress } = {}): Promise<PathsResult> {
  const v = new Validation(opts);
  const errors: LoadError[] = [];
  const files = new Set<string>();
  let objects = 0;
  for await (const r of streamManifests(paths)) {
    for (const o of r.objects) {
      files.add(o.file);
      objects++;
      // Checking references against half the input would only add noise, but reading goes on to report every file.
      if (errors.length === 0) v.add(o);
    }
    for (const e of r.errors) errors.push(e);
    opts.progress?.update(() => `read ${r.progress.done}/${r.progress.total} files, ${objects.toLocaleString('en-US')} objects`);
  }
  opts.progress?.update(() => `checking ${objects.toLocaleString('en-US')} objects`);
  const findings = errors.length === 0 ? v.finish() : [];
  opts.progress?.done();
  return { errors, findings, objects, files: files.size };
}
