// The official Python client (Debian's python3-kubernetes, run with /usr/bin/python3, not a pyenv one)
// against `bin/vmsafe apiserver --data-dir`: watch, server-side apply with force, paging and the patch
// types the client sends. The script (test/e2e/python/client_e2e.py) reports what it saw as JSON.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CRD_DIR, REPO_ROOT } from '../helpers/apiserver';

const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'vmsafe-python-'));
let server: ChildProcess | undefined;
let report: any;

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: REPO_ROOT, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  const kubeconfig = join(dir, 'kubeconfig');
  server = spawn(join(REPO_ROOT, 'bin/vmsafe'), ['apiserver', '--data-dir', join(dir, 'data'), '--port', '0', '--crd-dir', CRD_DIR, '--kubeconfig', kubeconfig, '--log-level', 'warn'], {
    cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`vmsafe apiserver did not start: ${out}`)), 30_000);
    server!.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/listening on https:\/\//.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    server!.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    server!.on('exit', (code) => reject(new Error(`vmsafe apiserver exited (${code}): ${out}`)));
  });
  // -I: ignore PYTHON* variables and the user site, so only Debian's packages are imported.
  const r = await run(PYTHON, ['-I', join(REPO_ROOT, 'test/e2e/python/client_e2e.py'), kubeconfig, dir], { env: { PATH: '/usr/bin:/bin', HOME: dir }, timeoutMs: 90_000 });
  if (r.code !== 0) throw new Error(`python client script failed (${r.code}):\n${r.stderr}`);
  report = JSON.parse(r.stdout);
}, 120_000);

afterAll(() => {
  server?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('the official Python client against vmsafe apiserver', () => {
  it('reads the version', () => {
    expect(report.version).toBe('v1.32.0-vmsafe');
  });

  it('watches (watch=True on the wire) from a list resourceVersion: added, modified, deleted, in order', () => {
    expect(report.watchFinished).toBe(true);
    expect(report.watchEvents).toEqual([
      ['ADDED', 'watched', 'v1'],
      ['MODIFIED', 'watched', 'v2'],
      ['DELETED', 'watched', 'v2'],
    ]);
  });

  it('pages with limit/continue: every object once, in key order; remainingItemCount only without selectors', () => {
    expect(report.pages).toEqual([{ items: 10, remaining: null }, { items: 10, remaining: null }, { items: 5, remaining: null }]);
    const { items, remaining, total } = report.unselectedFirstPage;
    expect(total).toBeGreaterThanOrEqual(25);
    expect({ items, remaining }).toEqual({ items: 10, remaining: total - 10 });
    expect(report.pagedNames).toEqual(Array.from({ length: 25 }, (_, i) => `page-${String(i).padStart(2, '0')}`));
    expect(report.badContinue.status).toBe(400);
  });

  it('patches as the client sends them: strategic (dict), JSON patch (list, with test) and merge (custom objects)', () => {
    expect(report.patchedConfigMap).toEqual({ data: { a: 'one', c: '3' }, labels: { via: 'smp' } });
    expect(report.failedTest).toMatchObject({ status: 422 });
    expect(report.failedTest.message).toContain('test failed');
    expect(report.mergedTag).toEqual({ labels: { via: 'merge' }, spec: { enforcement: 'Preferred' } });
    expect(report.strategicOnCustom.status).toBe(415);
  });

  it('server-side applies: a second manager conflicts (409) until it forces (force=True)', () => {
    expect(report.applyConflict.status).toBe(409);
    expect(report.applyConflict.message).toContain('conflict with "py-one"');
    expect(report.applyForced.data).toEqual({ owner: 'two' });
    expect(report.applyForced.managers).toContain('py-two/Apply');
    expect(report.applyTagConflict.status).toBe(409);
    expect(report.applyTagForced).toBe('Required');
  });

  it('deletes with orphanDependents=False on the wire', () => {
    expect(report.afterDelete.status).toBe(404);
  });
});
