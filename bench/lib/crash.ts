// Crash rounds against `vmsafe apiserver --data-dir`: start it, check that every write acknowledged
// in earlier rounds is there (and every acknowledged delete is not), write from several clients
// (creates and deletes, objects big enough that the small --compact-bytes compacts often), SIGKILL
// at a random moment, repeat. Used by test/apiserver/crash.test.ts (a few rounds) and
// bench/crash.ts (20 rounds, figures reported).
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { REPO } from './procs';

export interface CrashOptions {
  dir: string;
  rounds: number;
  /** Milliseconds of writing before the kill: uniform in [min, max]. */
  killAfterMs: [number, number];
  compactBytes?: number;
  writers?: number;
  payloadBytes?: number;
  /** Random source (tests pass a seeded one). */
  random?: () => number;
}

export interface CrashResult {
  rounds: number;
  acknowledgedWrites: number;
  acknowledgedDeletes: number;
  lostWrites: number;
  resurrectedDeletes: number;
  /** Rounds whose kill landed while a snapshot was being written (snap.*.tmp present). */
  killsDuringCompaction: number;
  /** Spawn -> listening, per round (ms). */
  startupMs: number[];
  problems: string[];
}

const TOKEN = 'crash-test-token';
const NS = '/api/v1/namespaces/default/configmaps';

function startServer(dir: string, compactBytes: number): Promise<{ proc: ChildProcess; url: string; ms: number }> {
  const started = performance.now();
  const proc = spawn(process.execPath, [
    '--import', 'tsx', join(REPO, 'src/cli/main.ts'), 'apiserver', '--data-dir', dir, '--port', '0', '--log-level', 'warn', '--compact-bytes', String(compactBytes),
  ], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VMSAFE_TOKEN: TOKEN } });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (https:\/\/\S+)/.exec(out);
      if (m) resolve({ proc, url: m[1]!, ms: performance.now() - started });
    });
    proc.once('exit', (code) => reject(new Error(`apiserver exited (${code}) before listening: ${err.trim().split('\n').slice(-3).join(' | ')}`)));
  });
}

function client(url: string, dir: string) {
  const ca = readFileSync(join(dir, 'serving.crt'), 'utf8');
  const agent = new Agent({ keepAlive: true, ca });
  return (method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}`, Accept: 'application/json' };
      if (payload) {
        headers['Content-Type'] = 'application/json';
        headers['Content-Length'] = String(Buffer.byteLength(payload));
      }
      const r = request(new URL(path, url), { method, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined });
          } catch (e) {
            reject(e as Error);
          }
        });
        res.on('error', reject);
      });
      r.on('error', reject);
      r.end(payload);
    });
}

export async function crashRounds(opts: CrashOptions): Promise<CrashResult> {
  const random = opts.random ?? Math.random;
  const compactBytes = opts.compactBytes ?? 2 * 1024 * 1024;
  const writers = opts.writers ?? 4;
  const pad = 'x'.repeat(opts.payloadBytes ?? 8 * 1024);
  const acked = new Map<string, string>();
  const deleted = new Set<string>();
  const result: CrashResult = {
    rounds: 0, acknowledgedWrites: 0, acknowledgedDeletes: 0, lostWrites: 0, resurrectedDeletes: 0, killsDuringCompaction: 0, startupMs: [], problems: [],
  };
  let seq = 0;
  for (let round = 0; round <= opts.rounds; round++) {
    const { proc, url, ms } = await startServer(opts.dir, compactBytes);
    result.startupMs.push(Math.round(ms));
    const call = client(url, opts.dir);
    try {
      // Verify everything acknowledged so far, paging like a client would.
      const have = new Map<string, string>();
      let cont = '';
      do {
        const page = await call('GET', `${NS}?limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
        for (const o of page.body.items) have.set(o.metadata.name, o.data?.v);
        cont = page.body.metadata.continue ?? '';
      } while (cont);
      for (const [name, v] of acked) {
        if (have.get(name) !== v) {
          result.lostWrites++;
          if (result.problems.length < 10) result.problems.push(`round ${round}: ${name} expected v=${v}, found ${have.get(name) ?? 'nothing'}`);
        }
      }
      for (const name of deleted) {
        if (have.has(name)) {
          result.resurrectedDeletes++;
          if (result.problems.length < 10) result.problems.push(`round ${round}: ${name} was deleted (acknowledged) but is back`);
        }
      }
      if (round === opts.rounds) break;
      // Write until the kill.
      let stop = false;
      const loops = Array.from({ length: writers }, async (_, w) => {
        while (!stop) {
          const mine = [...acked.keys()].filter((n) => n.startsWith(`w${w}-`));
          if (mine.length > 5 && random() < 0.2) {
            const victim = mine[Math.floor(random() * mine.length)]!;
            acked.delete(victim); // in flight: either outcome is fine until acknowledged
            const r = await call('DELETE', `${NS}/${victim}`).catch(() => undefined);
            if (r?.status === 200) {
              deleted.add(victim);
              result.acknowledgedDeletes++;
            }
            continue;
          }
          const name = `w${w}-${seq++}`;
          const v = String(round);
          const r = await call('POST', NS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { v, pad } }).catch(() => undefined);
          if (r?.status === 201) {
            acked.set(name, v);
            result.acknowledgedWrites++;
          }
        }
      });
      // Odd rounds kill the moment a snapshot is being written (until the deadline), others at a random time.
      const wait = opts.killAfterMs[0] + random() * (opts.killAfterMs[1] - opts.killAfterMs[0]);
      const deadline = performance.now() + (round % 2 ? opts.killAfterMs[1] * 4 : wait);
      const compacting = () => readdirSync(opts.dir).some((f) => /^snap\.\d+\.tmp$/.test(f));
      while (performance.now() < deadline && !(round % 2 && compacting())) await new Promise((r) => setTimeout(r, round % 2 ? 1 : 20));
      if (compacting()) result.killsDuringCompaction++;
      proc.kill('SIGKILL');
      stop = true;
      await Promise.all(loops);
      result.rounds++;
    } finally {
      proc.kill('SIGKILL');
      if (proc.exitCode === null && proc.signalCode === null) await new Promise((r) => proc.once('exit', r));
    }
  }
  return result;
}
