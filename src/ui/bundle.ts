// The page's JavaScript: the bundle `npm run build:ui` wrote to dist/ui/app.js, or, in a development
// checkout without it, bundled on the fly with esbuild (a devDependency, loaded only then).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root';

// The package root, from src/ui (tsx) or from dist/cli/chunks (the built package) alike.
export const UI_ROOT = packageRoot();
export const ENTRY = join(UI_ROOT, 'src/ui/page/main.tsx');
export const BUILT = join(UI_ROOT, 'dist/ui/app.js');

/** esbuild settings shared by the build script and the on-the-fly bundle. */
export async function bundle(opts: { outfile?: string } = {}): Promise<string> {
  const esbuild = await import('esbuild');
  const r = await esbuild.build({
    entryPoints: [ENTRY],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    write: !!opts.outfile,
    outfile: opts.outfile ?? 'app.js',
    logLevel: 'silent',
  });
  if (opts.outfile) return readFileSync(opts.outfile, 'utf8');
  return r.outputFiles![0]!.text;
}

/** The built bundle when present and not older than the page's sources (a dev checkout), else a fresh one. */
export async function pageScript(): Promise<string> {
  if (existsSync(BUILT)) {
    const dir = join(UI_ROOT, 'src/ui/page');
    const newest = existsSync(dir) ? Math.max(...readdirSync(dir).map((f) => statSync(join(dir, f)).mtimeMs)) : 0;
    if (statSync(BUILT).mtimeMs >= newest) return readFileSync(BUILT, 'utf8');
  }
  return bundle();
}
