// --data-dir: `vmsafe apiserver` killed with SIGKILL after acknowledged writes restarts with
// nothing lost, and resourceVersions keep increasing.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/apiserver';

const dir = mkdtempSync(join(tmpdir(), 'vmsafe-datadir-'));
const TOKEN = 'persist-token';
let child: ChildProcess | undefined;

afterAll(() => {
  child?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function startServer(): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'apiserver', '--data-dir', dir, '--port', '0', '--token', TOKEN, '--log-level', 'warn'], {
    cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 30_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = out.match(/listening on (https:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.on('exit', (code) => reject(new Error(`server exited (${code}): ${out}`)));
  });
  return { url, proc };
}

function req(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const ca = readFileSync(join(dir, 'serving.crt'), 'utf8');
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}`, Accept: 'application/json' };
    if (payload) {
      headers['Content-Type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const r = httpsRequest(new URL(path, url), { method, headers, ca }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined }));
    });
    r.on('error', reject);
    r.end(payload);
  });
}

const CM = '/api/v1/namespaces/default/configmaps';

describe('vmsafe apiserver --data-dir', () => {
  it('survives SIGKILL after acknowledged writes with nothing lost and increasing resourceVersions', async () => {
    const first = await startServer();
    child = first.proc;
    const created: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await req(first.url, 'POST', CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `p${i}` }, data: { i: String(i) } });
      expect(r.status).toBe(201);
      created.push(r.body.metadata.resourceVersion);
    }
    await req(first.url, 'PATCH', `${CM}/p3`, { data: { i: 'patched' } });
    expect((await req(first.url, 'DELETE', `${CM}/p4`)).status).toBe(200);
    const ns = await req(first.url, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kept' } });
    expect(ns.status).toBe(201);
    const lastRv = Number((await req(first.url, 'GET', CM)).body.metadata.resourceVersion);
    first.proc.kill('SIGKILL');
    await new Promise((r) => first.proc.once('exit', r));

    const second = await startServer();
    child = second.proc;
    const list = (await req(second.url, 'GET', CM)).body;
    const names = list.items.map((i: any) => i.metadata.name);
    // Besides the 19 written: kube-root-ca.crt, which the server publishes in every namespace.
    expect(names.filter((n: string) => n !== 'kube-root-ca.crt')).toHaveLength(19);
    expect(names).toContain('kube-root-ca.crt');
    expect(names).not.toContain('p4');
    expect(list.items.find((i: any) => i.metadata.name === 'p3').data.i).toBe('patched');
    expect(Number(list.metadata.resourceVersion)).toBe(lastRv);
    expect((await req(second.url, 'GET', '/api/v1/namespaces/kept')).status).toBe(200);
    const next = await req(second.url, 'POST', CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after' } });
    expect(Number(next.body.metadata.resourceVersion)).toBeGreaterThan(lastRv);
    // Watches from before the restart are too old: clients must relist.
    second.proc.kill('SIGKILL');
    await new Promise((r) => second.proc.once('exit', r));

    const third = await startServer();
    child = third.proc;
    const again = (await req(third.url, 'GET', CM)).body.items.map((i: any) => i.metadata.name);
    expect(again).toContain('after');
    expect(again.filter((n: string) => n !== 'kube-root-ca.crt')).toHaveLength(20);
    third.proc.kill('SIGKILL');
  });
});
