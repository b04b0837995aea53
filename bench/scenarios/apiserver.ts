// Benchmark scenario "apiserver": the embedded API server as the operator will load it.
//
// The server runs as its own process (`vmsafe apiserver`, TLS, in memory, our CRDs installed) so the
// client's work does not share its event loop; clients are plain node:https.
// 1. creates/s: one client, 16 requests in flight, VM creates spread over 64 namespaces.
// 2. list: one full list of all VMs (JSON), wall time.
// 3. watch delivery: 512 concurrent watches on the cluster-wide VM collection, each filtered by a
//    label selector (host=hN, like a per-host agent), while the client patches VMs (16 in flight).
//    For each write: delay from the write's response to its delivery on the one matching watch
//    (an event that arrives before the response counts as 0), and from the request's start.
// 4. large writes: a HostFilter of vmworld's density (about 80 VMs on the host, ~150 KB) written over
//    and over as the operator writes one (a merge patch of the whole spec, two compiled filters in
//    turn), then its status as an agent reports it applied; one at a time, with one watch on
//    HostFilters open, each reply asked as metadata only (as the operator and the agents ask). The
//    server's CPU per write (its process's user + system time), median of 5 batches: at a vmworld
//    cold start these writes are what the server spends most of its time on while filters go out,
//    and every other request queues behind them. VMSAFE_BENCH_PROF=apiserver profiles the server.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_VERSION, PROVIDER_NAMESPACE, type HostFilterSpec } from '../../src/api';
import { ACCEPT_METADATA_ONLY } from '../../src/runtime/client';
import { DEFAULT_SHARED_GROUP_MIN } from '../../src/controllers/operator';
import { generateDatacenter } from '../../src/gen';
import { compileHostFilters } from '../../src/policy/compile';
import { placeOffline } from '../../src/policy/offline';
import type { BenchOptions } from '../lib/options';
import { call, connFromKubeconfig, type Conn } from '../lib/http';
import { readProc } from '../lib/procs';
import { profileFlagsFromEnv } from '../lib/cluster';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const NAMESPACES = 64;
const WATCHES = 512;
const IN_FLIGHT = 16;

/** VMSAFE_BENCH_PROF=apiserver (and VMSAFE_BENCH_NODE_FLAGS[_APISERVER]) as for the cluster scenarios. */
const serverFlags = () => profileFlagsFromEnv(process.env.VMSAFE_BENCH_PROF_DIR ?? join(REPO, '.vmsafe/prof')).apiserver ?? [];

async function startServer(dir: string): Promise<{ conn: Conn; proc: ChildProcess }> {
  const kubeconfig = join(dir, 'kubeconfig');
  const proc = spawn(process.execPath, [...serverFlags(), '--import', 'tsx', join(REPO, 'src/cli/main.ts'), 'apiserver', '--port', '0', '--kubeconfig', kubeconfig, '--crd-dir', join(REPO, 'crds'), '--log-level', 'warn'], {
    cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((done, fail) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('export KUBECONFIG=')) done();
    });
    proc.on('exit', (code) => fail(new Error(`apiserver exited (${code})`)));
  });
  return { conn: connFromKubeconfig(kubeconfig, IN_FLIGHT), proc };
}

/** Runs `total` jobs with at most `limit` in flight. */
async function pool(total: number, limit: number, job: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < total) await job(next++);
  }));
}

const vm = (i: number) => ({
  apiVersion: 'vmsafe.io/v1alpha1',
  kind: 'VM',
  metadata: { name: `vm-${i}`, namespace: `tenant-${i % NAMESPACES}`, labels: { host: `h${i % WATCHES}`, tick: '0' } },
  spec: {
    tags: ['web'],
    vnics: [{ name: 'eth0', network: 'prod', ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, mac: `02:00:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}` }],
  },
});

/** A watch on `path`, resolved once its headers arrive (200, else rejected); `onData` gets its bytes. */
function openWatch(conn: Conn, agent: Agent, path: string, onData: (d: Buffer) => void): Promise<{ close(): void }> {
  return new Promise((ready, fail) => {
    const req = request(new URL(path, conn.url), { headers: { Authorization: `Bearer ${conn.token}` }, agent, ca: conn.ca }, (res) => {
      if (res.statusCode !== 200) fail(new Error(`watch ${path}: ${res.statusCode}`));
      ready({ close: () => req.destroy() });
      res.on('data', onData);
      res.on('error', () => undefined);
    });
    req.on('error', () => undefined);
    req.end();
  });
}

/** Two compiled filters of one host's size at vmworld's density (80 VMs a host), the second renamed to the first's host. */
function vmworldFilters(): [HostFilterSpec, HostFilterSpec] {
  const dc = generateDatacenter({ hosts: 64, vms: 5000, tenants: 5000, pools: 8, seed: 1 });
  const placed = placeOffline({ tenants: dc.tenants, tags: dc.tags, hosts: dc.hosts, vms: dc.vms, policies: dc.policies });
  const specs = [...compileHostFilters([...dc.tenants, ...dc.tags, ...dc.hosts, ...placed.vms, ...dc.policies], {
    providerNamespace: PROVIDER_NAMESPACE, sharedGroupMinAddresses: DEFAULT_SHARED_GROUP_MIN,
  }).values()];
  return [specs[0]!, { ...specs[1]!, hostName: specs[0]!.hostName }];
}

/** Server CPU milliseconds per call of `write`, median of `batches` batches of `n`, one at a time. */
async function cpuPerWrite(pid: number, batches: number, n: number, write: (i: number) => Promise<void>): Promise<number> {
  const each: number[] = [];
  let i = 0;
  for (let b = 0; b < batches; b++) {
    const c0 = readProc(pid).cpu!;
    for (let k = 0; k < n; k++) await write(i++);
    each.push(((readProc(pid).cpu! - c0) * 1000) / n);
  }
  return round(each.sort((a, b) => a - b)[Math.floor(each.length / 2)]!);
}

const pct = (sorted: number[], p: number) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
const round = (x: number) => Math.round(x * 100) / 100;

export async function run(opts: BenchOptions): Promise<object> {
  const creates = opts.quick ? 600 : 5000;
  const patches = opts.quick ? 300 : 2000;
  const dir = mkdtempSync(join(tmpdir(), 'vmsafe-bench-apiserver-'));
  const { conn, proc } = await startServer(dir);
  const watchAgent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const watches: { close(): void }[] = [];
  try {
    for (let n = 0; n < NAMESPACES; n++)
      await call(conn, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `tenant-${n}` } });

    opts.progress(`apiserver: ${creates} VM creates, ${IN_FLIGHT} in flight`);
    const t0 = performance.now();
    await pool(creates, IN_FLIGHT, async (i) => {
      const v = vm(i);
      const r = await call(conn, 'POST', `/apis/vmsafe.io/v1alpha1/namespaces/${v.metadata.namespace}/vms`, v);
      if (r.status !== 201) throw new Error(`create failed: ${r.status} ${r.text}`);
    });
    const createSeconds = (performance.now() - t0) / 1000;

    const l0 = performance.now();
    const list = await call(conn, 'GET', '/apis/vmsafe.io/v1alpha1/vms');
    const listMs = performance.now() - l0;
    const listed = JSON.parse(list.text);
    const rv = listed.metadata.resourceVersion as string;

    opts.progress(`apiserver: ${WATCHES} label-filtered watches, ${patches} patches`);
    const delivered = new Map<string, number>();
    await Promise.all(Array.from({ length: WATCHES }, async (_, h) => {
      let buf = '';
      watches.push(await openWatch(conn, watchAgent, `/apis/vmsafe.io/v1alpha1/vms?watch=true&resourceVersion=${rv}&labelSelector=host%3Dh${h}`, (d) => {
        const now = performance.now();
        buf += d.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          const m = line.match(/"tick":"(t\d+)"/);
          if (m) delivered.set(m[1]!, now);
        }
      }));
    }));

    const started = new Map<string, number>();
    const answered = new Map<string, number>();
    await pool(patches, IN_FLIGHT, async (k) => {
      const i = (k * 7919) % creates;
      const v = vm(i);
      const tick = `t${k}`;
      started.set(tick, performance.now());
      const r = await call(conn, 'PATCH', `/apis/vmsafe.io/v1alpha1/namespaces/${v.metadata.namespace}/vms/${v.metadata.name}`, { metadata: { labels: { tick } } }, 'application/merge-patch+json');
      answered.set(tick, performance.now());
      if (r.status !== 200) throw new Error(`patch failed: ${r.status} ${r.text}`);
    });
    const deadline = Date.now() + 30_000;
    while (delivered.size < patches && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));

    const fromResponse: number[] = [];
    const fromRequest: number[] = [];
    for (const [tick, at] of delivered) {
      fromResponse.push(Math.max(0, at - answered.get(tick)!));
      fromRequest.push(at - started.get(tick)!);
    }
    fromResponse.sort((a, b) => a - b);
    fromRequest.sort((a, b) => a - b);

    opts.progress('apiserver: HostFilter writes of vmworld size');
    const [a, b] = vmworldFilters();
    const host = a.hostName;
    const hfPath = '/apis/vmsafe.io/v1alpha1/hostfilters';
    await call(conn, 'POST', '/apis/vmsafe.io/v1alpha1/hosts', { apiVersion: API_VERSION, kind: 'Host', metadata: { name: host }, spec: { tags: [], capacity: { vms: 320, vnics: 3200 }, networks: [] } });
    const created = await call(conn, 'POST', hfPath, { apiVersion: API_VERSION, kind: 'HostFilter', metadata: { name: host }, spec: a });
    if (created.status !== 201) throw new Error(`HostFilter create failed: ${created.status} ${created.text}`);
    watches.push(await openWatch(conn, watchAgent, `${hfPath}?watch=true&resourceVersion=${JSON.parse(created.text).metadata.resourceVersion}`, () => undefined));
    const n = opts.quick ? 10 : 100;
    const ok = (r: { status: number; text: string }) => {
      if (r.status !== 200) throw new Error(`HostFilter write failed: ${r.status} ${r.text.slice(0, 200)}`);
    };
    // As the operator and the agents send them: they read nothing of the reply but its status.
    const write = (path: string, body: object) => call(conn, 'PATCH', path, body, 'application/merge-patch+json', ACCEPT_METADATA_ONLY);
    const specMs = await cpuPerWrite(proc.pid!, 5, n, async (i) => ok(await write(`${hfPath}/${host}`, { spec: i % 2 ? a : b })));
    const statusMs = await cpuPerWrite(proc.pid!, 5, n, async (i) => ok(await write(`${hfPath}/${host}/status`, { status: { appliedHash: `hf-${i}`, observedGeneration: i } })));

    // The status storm's unit: a SecurityPolicy's status written by the operator, the policy created
    // by another manager (its spec fields in managedFields). Each write changes the Realized condition.
    opts.progress('apiserver: SecurityPolicy status writes');
    const policies = generateDatacenter({ hosts: 8, vms: 200, tenants: 200, pools: 2, seed: 1 }).policies.filter((p) => p.metadata.namespace !== PROVIDER_NAMESPACE).slice(0, 100);
    for (const p of policies) {
      const ns = p.metadata.namespace!;
      await call(conn, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      const r = await call(conn, 'POST', `/apis/vmsafe.io/v1alpha1/namespaces/${ns}/securitypolicies`, p);
      if (r.status !== 201) throw new Error(`SecurityPolicy create failed: ${r.status} ${r.text.slice(0, 200)}`);
    }
    const policyStatus = (i: number) => {
      const realized = i % 2 === 0;
      const at = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString().replace('.000Z', 'Z');
      return {
        status: {
          observedGeneration: 1, vnics: 12, hosts: { desired: 3, realized: realized ? 3 : 2 }, warnings: [],
          conditions: [
            { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'policy is valid and compiled', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' },
            realized
              ? { type: 'Realized', status: 'True', reason: 'Realized', message: 'enforced on 3 host(s), 12 vNIC(s)', observedGeneration: 1, lastTransitionTime: at }
              : { type: 'Realized', status: 'False', reason: 'Pending', message: '1 of 3 host(s) not applied yet: h1', observedGeneration: 1, lastTransitionTime: at },
          ],
        },
      };
    };
    const policyStatusMs = await cpuPerWrite(proc.pid!, 5, policies.length * 2, async (i) => {
      const p = policies[i % policies.length]!;
      ok(await write(`/apis/vmsafe.io/v1alpha1/namespaces/${p.metadata.namespace}/securitypolicies/${p.metadata.name}/status?fieldManager=vmsafe-operator`, policyStatus(Math.floor(i / policies.length))));
    });
    return {
      server: 'vmsafe apiserver as a child process: TLS, in memory, CRDs from crds/',
      createsPerSecond: Math.round(creates / createSeconds),
      creates,
      inFlight: IN_FLIGHT,
      listAllVms: { items: listed.items.length, ms: round(listMs), bytes: list.text.length },
      watchDelivery: {
        watches: WATCHES,
        filter: 'labelSelector host=hN on the cluster-wide VM collection',
        writes: patches,
        delivered: delivered.size,
        p50Ms: round(pct(fromResponse, 50)),
        p99Ms: round(pct(fromResponse, 99)),
        maxMs: round(fromResponse[fromResponse.length - 1] ?? NaN),
        fromRequestP50Ms: round(pct(fromRequest, 50)),
        fromRequestP99Ms: round(pct(fromRequest, 99)),
      },
      hostFilterWrites: {
        definition: 'server CPU (user + system) per write of one HostFilter at vmworld density, one write at a time, one watch open, the reply asked as metadata only (as the operator and the agents ask); median of 5 batches',
        specBytes: [JSON.stringify(a).length, JSON.stringify(b).length],
        writesPerBatch: n,
        specPatchCpuMs: specMs,
        statusPatchCpuMs: statusMs,
      },
      policyStatusWrites: {
        definition: 'server CPU (user + system) per status merge patch of a SecurityPolicy by the operator\'s field manager, the policy created by another (its spec fields in managedFields), each write changing the Realized condition; one at a time, reply as metadata only; median of 5 batches',
        policies: policies.length,
        writesPerBatch: policies.length * 2,
        statusPatchCpuMs: policyStatusMs,
      },
    };
  } finally {
    watches.forEach((w) => w.close());
    conn.agent.destroy();
    watchAgent.destroy();
    if (serverFlags().includes('--cpu-prof')) {
      // exit-on-signal.mjs: exits at once, and the profile is written on the way out.
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGUSR2');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
    } else {
      proc.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 100));
    }
    if (proc.exitCode === null) proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
