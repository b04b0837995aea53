// `npm run build`: the package's JavaScript in dist/, so nothing transpiles at run time.
// Steps run in order; add one to STEPS (e.g. bundling the web dashboard's page into dist/ui) and it
// runs on every build, before `npm pack` (prepack) and in the Dockerfile.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const STEPS = [
  {
    name: 'cli and library entry points (esbuild, ESM, source maps)',
    run: () =>
      build({
        entryPoints: { 'cli/main': 'src/cli/main.ts', 'testing/index': 'src/testing/index.ts' },
        outdir: 'dist',
        bundle: true,
        // Dependencies stay in node_modules (installed with the package), except client-node: loading
        // its ~1,400 ES modules one by one takes 0.7 s, bundled (only what we use, with what that needs)
        // a fraction, which a `vmsafe trace --live` answering in under a second needs.
        plugins: [bundleOnly('@kubernetes/client-node')],
        // Some of what it pulls in is CommonJS that calls require() (Node built-ins): give ESM a require.
        banner: { js: "import { createRequire as __vmsafeRequire } from 'node:module'; const require = __vmsafeRequire(import.meta.url);" },
        platform: 'node',
        target: 'node20',
        format: 'esm',
        // Verbs stay lazily loaded: each `import()` becomes its own chunk.
        splitting: true,
        chunkNames: 'chunks/[name]-[hash]',
        sourcemap: true,
        logLevel: 'warning',
      }),
  },
  {
    // The dashboard page (Preact, bundled): vmsafe ui serves dist/ui/app.js, so the package needs no esbuild.
    name: 'dashboard page (dist/ui/app.js)',
    run: () => execFileSync(process.execPath, ['--import', 'tsx', 'src/ui/build.ts'], { stdio: 'inherit' }),
  },
  {
    name: 'types of vmsafe-operator/testing (tsc, declarations only)',
    run: () => execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' }),
  },
];

/**
 * An esbuild plugin: our own imports of packages stay external (installed with ours), except `pkg`,
 * which is bundled with whatever it imports, so nothing it needs has to be resolvable from dist/.
 */
function bundleOnly(pkg) {
  return {
    name: `bundle-only-${pkg}`,
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        // Imports made by pkg (or by what it pulls in) resolve and bundle as usual.
        if (args.path === pkg || args.path.startsWith(`${pkg}/`) || args.importer.includes('/node_modules/')) return undefined;
        return { path: args.path, external: true };
      });
    },
  };
}

rmSync('dist', { recursive: true, force: true });
for (const step of STEPS) {
  const t0 = performance.now();
  await step.run();
  process.stderr.write(`build: ${step.name} (${Math.round(performance.now() - t0)} ms)\n`);
}
// bin/vmsafe runs dist only when it is at least as new as src (see bin/vmsafe).
writeFileSync('dist/.built', new Date().toISOString() + '\n');
