// A lean HTTPS client for the benchmark driver: plain node:https with keep-alive, bearer token, JSON.
// Lighter than the operator's client so that loading 200,000 objects costs the driver little CPU.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import YAML from 'yaml';

export interface Conn {
  url: string;
  token: string;
  ca: string;
  agent: Agent;
}

export function connFromKubeconfig(file: string, maxSockets = 32): Conn {
  const kc = YAML.parse(readFileSync(file, 'utf8'));
  return {
    url: kc.clusters[0].cluster.server,
    token: kc.users[0].user.token,
    ca: Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString('utf8'),
    agent: new Agent({ keepAlive: true, maxSockets }),
  };
}

export interface Reply {
  status: number;
  text: string;
}

export function call(conn: Conn, method: string, path: string, body?: unknown, contentType = 'application/json', accept = 'application/json'): Promise<Reply> {
  return new Promise((done, fail) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { Authorization: `Bearer ${conn.token}`, Accept: accept };
    if (payload !== undefined) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const req = request(new URL(path, conn.url), { method, headers, agent: conn.agent, ca: conn.ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end(payload);
  });
}

/** call() that throws unless the status is 2xx (409 AlreadyExists accepted when `exists` is true). */
export async function must(conn: Conn, method: string, path: string, body?: unknown, opts: { contentType?: string; exists?: boolean } = {}): Promise<Reply> {
  const r = await call(conn, method, path, body, opts.contentType);
  if ((r.status < 200 || r.status > 299) && !(opts.exists && r.status === 409))
    throw new Error(`${method} ${path}: HTTP ${r.status} ${r.text.slice(0, 500)}`);
  return r;
}

/** Runs `total` jobs with at most `limit` in flight; the first failure rejects. */
export async function pool(total: number, limit: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  await Promise.all(Array.from({ length: Math.min(limit, total) }, async () => {
    while (next < total && failed === undefined) {
      try {
        await job(next++);
      } catch (err) {
        failed ??= err;
      }
    }
  }));
  if (failed !== undefined) throw failed;
}
