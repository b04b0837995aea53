// The system under test as three processes: `vmsafe apiserver`, `vmsafe agent --fleet`, `vmsafe operator`.
import { mkdtempSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOOTSTRAP } from '../../src/dev/stack';
import { resourcePath } from '../../src/runtime/client';
import { Component, REPO, type ProcStats } from './procs';
import { connFromKubeconfig, must, type Conn } from './http';
import { benchOperatorMemoryLimit } from './operator-memory';

export interface ClusterOptions {
  /** Agent heartbeat (ms) and lease (s): defaults 2000 / 8 like `vmsafe agent`. */
  heartbeatMs?: number;
  leaseSeconds?: number;
  /** Extra node flags per component, e.g. { operator: ['--cpu-prof'] }. */
  nodeFlags?: Partial<Record<'apiserver' | 'operator' | 'agents', string[]>>;
  logLevel?: string;
}

/**
 * Node flags from the environment, for diagnosing a bench run without editing it:
 * VMSAFE_BENCH_PROF=operator,agents,apiserver (CPU profiles), VMSAFE_BENCH_NODE_FLAGS="--trace-gc ..."
 * (every component; see VMSAFE_BENCH_STDOUT_DIR for their output).
 */
export function profileFlagsFromEnv(dir: string): NonNullable<ClusterOptions['nodeFlags']> {
  const which = (process.env.VMSAFE_BENCH_PROF ?? '').split(',').filter(Boolean);
  const extra = (process.env.VMSAFE_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  // VMSAFE_BENCH_NODE_FLAGS_OPERATOR (_APISERVER, _AGENTS): flags for that component only, after the shared ones.
  const own = (c: string) => (process.env[`VMSAFE_BENCH_NODE_FLAGS_${c.toUpperCase()}`] ?? '').split(' ').filter(Boolean);
  const out: NonNullable<ClusterOptions['nodeFlags']> = { apiserver: [...extra, ...own('apiserver')], operator: [...extra, ...own('operator')], agents: [...extra, ...own('agents')] };
  for (const w of which) out[w as 'operator']!.push('--cpu-prof', `--cpu-prof-dir=${join(dir, w)}`, '--import', join(REPO, 'bench/lib/exit-on-signal.mjs'));
  return out;
}

export class Cluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'vmsafe-bench-'));
  readonly kubeconfig = join(this.dir, 'kubeconfig');
  apiserver!: Component;
  operator: Component | undefined;
  agents: Component | undefined;
  conn!: Conn;

  constructor(private readonly opts: ClusterOptions = {}) {}

  private flags(c: 'apiserver' | 'operator' | 'agents'): string[] {
    return [...(this.opts.nodeFlags?.[c] ?? []), ...(profileFlagsFromEnv(process.env.VMSAFE_BENCH_PROF_DIR ?? join(REPO, '.vmsafe/prof'))[c] ?? [])];
  }

  private get log(): string[] {
    return ['--log-level', this.opts.logLevel ?? 'warn'];
  }

  /** API server up, our CRDs installed, the system namespace and tenant-admin role created. */
  async startApiServer(): Promise<void> {
    this.apiserver = new Component('apiserver', ['apiserver', '--port', '0', '--kubeconfig', this.kubeconfig, '--crd-dir', join(REPO, 'crds'), ...this.log], {
      readyText: 'export KUBECONFIG=',
      nodeFlags: this.flags('apiserver'),
    });
    await this.apiserver.ready;
    this.conn = connFromKubeconfig(this.kubeconfig);
    for (const { info, obj } of BOOTSTRAP) await must(this.conn, 'POST', resourcePath(info), obj, { exists: true });
  }

  startAgents(): void {
    this.agents = new Component('agents', [
      'agent', '--fleet', '--kubeconfig', this.kubeconfig,
      '--heartbeat-ms', String(this.opts.heartbeatMs ?? 2000), '--lease-seconds', String(this.opts.leaseSeconds ?? 8), ...this.log,
    ], { nodeFlags: this.flags('agents') });
  }

  /** The operator's /metrics and /readyz port. */
  operatorPort = 0;
  /** The soft memory limit the operator runs under (bytes; 0 = none): the manifest's. */
  readonly operatorMemoryLimit = benchOperatorMemoryLimit();

  /** Starts the operator; `operatorReady()` resolves once its caches synced and controllers run. */
  /** `args`: more operator flags (e.g. `--resync-period 60`). */
  async startOperator(args: string[] = []): Promise<void> {
    this.operatorPort = await freePort();
    this.operator = new Component('operator', ['operator', '--kubeconfig', this.kubeconfig, '--no-leader-elect', ...metricsFlag(this.operatorPort), ...this.log, ...args], {
      nodeFlags: this.flags('operator'),
      env: { VMSAFE_MEMORY_LIMIT: String(this.operatorMemoryLimit) },
    });
  }

  /** Stops the operator (SIGTERM, its normal shutdown: queued Events are flushed). */
  async stopOperator(): Promise<void> {
    await this.operator?.stop();
  }

  /** Polls the operator's /readyz (its metrics server starts after the first sync). */
  async operatorReady(timeoutMs = 600_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.operator?.proc.exitCode !== null) throw new Error('operator exited');
      const ok = await new Promise<boolean>((done) => {
        const req = httpGet(`http://127.0.0.1:${this.operatorPort}/readyz`, (res) => {
          res.resume();
          done(res.statusCode === 200);
        });
        req.on('error', () => done(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`operator not ready within ${timeoutMs} ms`);
  }

  /** Sum of the operator's work queue depths (vmsafe_workqueue_depth), from /metrics. */
  async operatorQueueDepth(): Promise<number> {
    const text = await this.operatorMetrics();
    let sum = 0;
    for (const m of text.matchAll(/^vmsafe_workqueue_depth\{[^}]*\} (\d+(?:\.\d+)?)$/gm)) sum += Number(m[1]);
    return sum;
  }

  /** Waits until every operator work queue is empty twice in a row (1 s apart); false on timeout. */
  async operatorSettled(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let zeros = 0;
    while (Date.now() < deadline) {
      zeros = (await this.operatorQueueDepth().catch(() => 1)) === 0 ? zeros + 1 : 0;
      if (zeros >= 2) return true;
      await new Promise((r) => setTimeout(r, 1000));
    }
    return false;
  }

  /** The operator's Prometheus text. */
  operatorMetrics(): Promise<string> {
    return new Promise((done, fail) => {
      const req = httpGet(`http://127.0.0.1:${this.operatorPort}/metrics`, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => done(text));
      });
      req.on('error', fail);
    });
  }

  /** Components that exited without being stopped, with how and the end of their stderr. */
  deaths(): string[] {
    return [this.apiserver, this.operator, this.agents].map((c) => c?.death()).filter((d): d is string => d !== undefined);
  }

  /** Peak RSS and CPU per component (so far). */
  stats(): Record<'apiserver' | 'operator' | 'agents', ProcStats | null> {
    return { apiserver: this.apiserver?.stats() ?? null, operator: this.operator?.stats() ?? null, agents: this.agents?.stats() ?? null };
  }

  async stop(): Promise<void> {
    await Promise.all([this.operator?.stop(), this.agents?.stop()]);
    await this.apiserver?.stop();
    this.conn?.agent.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => done(port));
    });
  });
}

/** `--metrics-bind-address 127.0.0.1:N`: the operator's flag (vmsafe operator --help). */
function metricsFlag(port: number): string[] {
  return ['--metrics-bind-address', `127.0.0.1:${port}`];
}
