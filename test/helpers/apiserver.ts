// Test helper: an embedded API server on a free port with our CRDs installed, a kubeconfig in a
// temp dir, a `kubectl` runner (the real binary, async so the in-process server keeps serving)
// and an HTTPS request helper that trusts the server's certificate.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startApiServer, writeKubeconfig, type ApiServer, type ApiServerOptions } from '../../src/apiserver/index';
import { kubectlFor, type KubectlResult } from './kubectl';
import { waitFor } from './wait';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const CRD_DIR = join(REPO_ROOT, 'crds');

export type { KubectlResult };

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Parsed JSON body (undefined when the body is not JSON). */
  body: any;
}

export interface TestApiServer {
  url: string;
  token: string;
  kubeconfigPath: string;
  server: ApiServer;
  /** Environment for child processes (KUBECONFIG and a private kubectl cache dir). */
  env: NodeJS.ProcessEnv;
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** kubectl that must succeed: its stdout, or a thrown error with its exit code and stderr. */
  ok(args: string[], input?: string): Promise<string>;
  /** A long-running kubectl (get -w) whose output lines are collected; kill it when done. */
  kubectlSpawn(args: string[]): LineProcess;
  request(method: string, path: string, opts?: { body?: unknown; headers?: Record<string, string>; token?: string | null; raw?: string | Buffer }): Promise<HttpResult>;
  close(): Promise<void>;
}

export async function startTestApiServer(opts: Partial<ApiServerOptions> & { crds?: boolean } = {}): Promise<TestApiServer> {
  const dir = mkdtempSync(join(tmpdir(), 'vmsafe-apiserver-'));
  const crdDir = opts.crds === false ? undefined : opts.crdDir ?? (existsSync(CRD_DIR) ? CRD_DIR : undefined);
  const server = await startApiServer({ port: 0, ...opts, crdDir });
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeKubeconfig(kubeconfigPath, { url: server.url, token: server.token, caCert: server.caCert });
  const { kubectl, env } = kubectlFor(kubeconfigPath, dir);

  const request: TestApiServer['request'] = (method, path, o = {}) =>
    new Promise((done, fail) => {
      const url = new URL(path, server.url);
      const headers: Record<string, string> = { Accept: 'application/json', ...(o.headers ?? {}) };
      const token = o.token === undefined ? server.token : o.token;
      if (token !== null) headers.Authorization = `Bearer ${token}`;
      let payload: string | Buffer | undefined = o.raw;
      if (o.body !== undefined) {
        payload = JSON.stringify(o.body);
        headers['Content-Type'] ??= 'application/json';
      }
      if (payload !== undefined) headers['Content-Length'] = String(Buffer.byteLength(payload));
      const req = httpsRequest(url, { method, headers, ca: server.caCert }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: any;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          done({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
      });
      req.on('error', fail);
      req.end(payload);
    });

  return {
    url: server.url,
    token: server.token,
    kubeconfigPath,
    server,
    env,
    kubectl,
    ok: async (args, input) => {
      const r = await kubectl(args, { input });
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
      return r.stdout;
    },
    kubectlSpawn: (args) => collectLines(spawn('kubectl', args, { env, stdio: ['ignore', 'pipe', 'pipe'] })),
    request,
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Poll until `fn` returns a truthy value (see waitFor). */
export function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  return waitFor(what, fn as () => Promise<T>, { timeoutMs, intervalMs: 25 });
}

/** A spawned process whose stdout lines are collected from the start (nothing is lost between waits). */
export interface LineProcess {
  child: ChildProcess;
  lines: string[];
  /** Lines before this index were already consumed by waitForLine. */
  cursor: number;
  kill(): void;
}

export function collectLines(child: ChildProcess): LineProcess {
  const p: LineProcess = { child, lines: [], cursor: 0, kill: () => child.kill('SIGKILL') };
  let partial = '';
  child.stdout?.on('data', (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    p.lines.push(...parts);
  });
  return p;
}

/** Resolves with the next stdout line matching `re` (after earlier matches), or rejects at the deadline. */
export async function waitForLine(p: LineProcess, re: RegExp, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (let i = p.cursor; i < p.lines.length; i++) {
      if (re.test(p.lines[i]!)) {
        p.cursor = i + 1;
        return p.lines[i]!;
      }
    }
    if (Date.now() > deadline) throw new Error(`no line matching ${re} within ${timeoutMs} ms; got:\n${p.lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
