// The package as a user gets it: `npm pack` on a copy of this checkout (its prepack step builds dist/),
// the tarball unpacked into an app's node_modules next to ONLY the runtime dependencies (no tsx,
// esbuild or typescript to fall back on), then the Dockerfile's own ENTRYPOINT command, the
// `kubectl vmsafe` plugin through the real kubectl, and the `vmsafe-operator/testing` entry point.
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
let tmp: string;
let app: string;
let files: string[];

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: app, env: { ...process.env, ...env }, timeout: 60_000 }, (e, out, err) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out, err }),
    );
  });
}

/** The Dockerfile's ENTRYPOINT, with the image's paths mapped onto this app folder and this node. */
function entrypoint(): string[] {
  const line = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').split('\n').find((l) => l.startsWith('ENTRYPOINT '))!;
  const argv = JSON.parse(line.slice('ENTRYPOINT '.length)) as string[];
  return argv.map((a) => (a === '/nodejs/bin/node' ? process.execPath : a.replace(/^\/app\//, `${app}/`)));
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'vmsafe-pack-'));
  const src = join(tmp, 'src');
  mkdirSync(src);
  for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'Dockerfile', 'README.md', 'scripts', 'src', 'bin', 'crds', 'examples', 'manifests'])
    cpSync(join(ROOT, f), join(src, f), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'));
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: src, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as { filename: string; files: { path: string }[] }[];
  files = packed[0]!.files.map((f) => f.path);
  app = join(tmp, 'app');
  const mod = join(app, 'node_modules');
  mkdirSync(join(mod, 'vmsafe-operator'), { recursive: true });
  execFileSync('tar', ['xzf', join(tmp, packed[0]!.filename), '-C', join(mod, 'vmsafe-operator'), '--strip-components=1']);
  for (const dep of Object.keys(pkg.dependencies)) {
    mkdirSync(join(mod, dep, '..'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', dep), join(mod, dep));
  }
  mkdirSync(join(app, 'bin'));
  symlinkSync(join(mod, 'vmsafe-operator/bin/kubectl-vmsafe'), join(app, 'bin/kubectl-vmsafe'));
}, 120_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('npm pack', () => {
  it('ships the built JavaScript, CRDs, examples and manifests, and no TypeScript sources or benchmarks', () => {
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('dist/testing/index.js');
    expect(files).toContain('dist/types/testing/index.d.ts');
    expect(files).toContain('bin/kubectl-vmsafe');
    expect(files).toContain('crds/vms.vmsafe.io.yaml');
    expect(files).toContain('examples/60-vms.yaml');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('bench/') || f.startsWith('test/') || f.startsWith('src/'))).toEqual([]);
  });

  it("runs the image's entrypoint: --version, validate, trace, operator --help", async () => {
    const [node, ...args] = entrypoint();
    expect(await run(node!, [...args, '--version'])).toEqual({ code: 0, out: `${pkg.version}\n`, err: '' });
    const examples = join(app, 'node_modules/vmsafe-operator/examples');
    const v = await run(node!, [...args, 'validate', '-f', examples]);
    expect(v).toMatchObject({ code: 0, err: expect.stringMatching(/^vmsafe validate: \d+ objects in 7 files, no problems\n$/) });
    const t = await run(node!, [...args, 'trace', '-f', examples, '--from', 'acme/web-1', '--to', 'acme/app-1', '--port', '8080', '-o', 'json']);
    expect({ code: t.code, verdict: JSON.parse(t.out).verdict }).toEqual({ code: 0, verdict: 'Allow' });
    const o = await run(node!, [...args, 'operator', '--help']);
    expect(o.code).toBe(0);
    expect(o.out).toContain('--leader-elect [bool]');
  });

  it('is a kubectl plugin: `kubectl vmsafe trace` through the real kubectl', async () => {
    const examples = join(app, 'node_modules/vmsafe-operator/examples');
    const r = await run('kubectl', ['vmsafe', 'trace', '-f', examples, '--from', 'acme/web-1', '--to', 'globex-prod/ledger-db', '--port', '5432'], {
      PATH: `${join(app, 'bin')}:${process.env.PATH}`,
    });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Deny  acme\/web-1 -> globex-prod\/ledger-db  TCP\/5432\n/);
  });

  it('exports vmsafe-operator/testing: an embedded API server with the CRDs, and fixture builders', async () => {
    const script = `
      import { startTestCluster, tenant } from 'vmsafe-operator/testing';
      import { execFile } from 'node:child_process';
      const c = await startTestCluster();
      try {
        // Async: the API server runs in this process and must keep serving while kubectl talks to it.
        const out = await new Promise((ok, fail) => {
          const p = execFile('kubectl', ['create', '-f', '-', '-o', 'name'], { env: { ...process.env, KUBECONFIG: c.kubeconfigPath } }, (e, o, er) => (e ? fail(new Error(er)) : ok(o)));
          p.stdin.end(JSON.stringify(tenant('acme', { placementTags: ['gold'] })));
        });
        process.stdout.write(out);
        try { tenant('bad', { quota: { vms: -1 } }); } catch (e) { process.stdout.write(e.message + '\\n'); }
      } finally { await c.close(); }`;
    const r = await run(process.execPath, ['--input-type=module', '-e', script]);
    expect(r.err).toBe('');
    expect(r.out.split('\n')[0]).toBe('tenant.vmsafe.io/acme');
    expect(r.out.split('\n')[1]).toMatch(/^Tenant\/bad: spec\.quota\.vms: /);
  });
});

