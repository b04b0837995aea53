// Where the package's own files (package.json, crds/, examples/) are: the nearest folder above this
// module with our package.json. Works from src/ (tsx), from dist/ (bundled, any chunk depth) and from
// an installed node_modules/vmsafe-operator.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: { root: string; version: string } | undefined;

function find(): { root: string; version: string } {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'vmsafe-operator') return (cached = { root: dir, version: pkg.version ?? 'unknown' });
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the vmsafe-operator package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** The package's root folder. */
export const packageRoot = (): string => find().root;

/** The package's version. */
export const packageVersion = (): string => find().version;

/** "NAME/VERSION", like client-go's user agent (just NAME when the package.json cannot be found). */
export function userAgent(name: string): string {
  try {
    return `${name}/${packageVersion()}`;
  } catch {
    return name;
  }
}
