// Controller + informers + status writer + events + metrics server together against the real
// embedded API server: a toy Host controller that counts VMs per host through an index (fan-in).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { host as hostSchema, vm as vmSchema, type Host, type VM } from '../../src/api';
import {
  Controller, EventRecorder, EVENTS, Informer, RuntimeMetrics, StatusWriter, kindResource, setCondition,
  startMetricsServer, waitForSync, type KubeObject,
} from '../../src/runtime';
import { ensureNamespace, host, startEnv, until, vm, type TestEnv } from './fixtures';

let env: TestEnv;
beforeAll(async () => {
  env = await startEnv();
  await ensureNamespace(env.client, 'acme');
});
afterAll(() => env?.close());

describe('StatusWriter', () => {
  it('writes /status only when the desired status differs, always with observedGeneration', async () => {
    const hosts = env.client.kind<Host & KubeObject>('Host');
    let h = await hosts.create(host('s-h1') as any);
    const sw = new StatusWriter(env.client);
    const writes = () => env.server.writeCounts('vmsafe.io/hosts').updates;
    const w0 = writes();
    const now = new Date('2026-01-01T00:00:00Z');
    const desired = { allocated: { vms: 0, vnics: 0 }, conditions: setCondition([], { type: 'Ready', status: 'True', reason: 'AgentAlive' }, now) };

    const r1 = await sw.update('Host', h, desired);
    expect(r1.written).toBe(true);
    expect(r1.object.status).toMatchObject({ observedGeneration: h.metadata.generation, allocated: { vms: 0, vnics: 0 } });
    expect(writes()).toBe(w0 + 1);

    // Same desired status against the stale object (cache not caught up yet): no second write.
    expect((await sw.update('Host', h, desired)).written).toBe(false);
    // Same desired status against the fresh object: no write either.
    h = r1.object;
    const again = { allocated: { vms: 0, vnics: 0 }, conditions: setCondition(h.status?.conditions, { type: 'Ready', status: 'True', reason: 'AgentAlive' }, new Date()) };
    expect((await sw.update('Host', h, again)).written).toBe(false);
    expect(writes()).toBe(w0 + 1);

    // A change, and a removed field, are written; the server ends up with exactly the desired status.
    const r2 = await sw.update('Host', h, { allocated: { vms: 1, vnics: 2 } });
    expect(r2.written).toBe(true);
    expect(r2.object.status).toEqual({ observedGeneration: h.metadata.generation, allocated: { vms: 1, vnics: 2 } });
    expect(writes()).toBe(w0 + 2);

    // A spec change bumps generation: observedGeneration alone makes the status differ.
    const h3 = await hosts.patch('s-h1', { spec: { tags: ['gold'] } });
    expect(h3.metadata.generation).toBeGreaterThan(h.metadata.generation!);
    const r3 = await sw.update('Host', h3, { allocated: { vms: 1, vnics: 2 } });
    expect(r3.written).toBe(true);
    expect((r3.object.status as any).observedGeneration).toBe(h3.metadata.generation);
    expect(sw.stats).toEqual({ written: 3, unchanged: 2 });
  });
});

describe('StatusWriter.isOwnEcho', () => {
  it('recognizes the watch echo of its own status write, and nothing else', async () => {
    const hosts = env.client.kind<Host & KubeObject>('Host');
    await hosts.create(host('echo-h1') as any);
    const inf = new Informer<Host>({ client: env.client, resource: kindResource('Host'), schema: hostSchema as any, name: 'echo-hosts' });
    const updates: [Host, Host][] = [];
    inf.on({ update: (a, b) => updates.push([a, b]) });
    inf.start();
    try {
      await waitForSync([inf], 5000);
      const sw = new StatusWriter(env.client);
      const cached = inf.get('echo-h1')!;
      const w = await sw.update('Host', cached as any, { allocated: { vms: 1, vnics: 1 } });
      expect(w.written).toBe(true);
      await until(() => updates.some(([, b]) => b.metadata.resourceVersion === w.object.metadata.resourceVersion), 5000, 'status echo');
      const [a, b] = updates.at(-1)!;
      expect(sw.isOwnEcho('Host', a as any, b as any)).toBe(true);
      // The cached managedFields are dropped (the informer's default), the status kept.
      expect((b.metadata as any).managedFields).toBeUndefined();
      // Anyone else's change is not an echo: a label, then a spec change (new generation).
      for (const patch of [{ metadata: { labels: { x: 'y' } } }, { spec: { tags: ['gold'] } }]) {
        const prev = inf.get('echo-h1')!;
        const out = await hosts.patch('echo-h1', patch);
        await until(() => inf.get('echo-h1')?.metadata.resourceVersion === out.metadata.resourceVersion, 5000, 'foreign update');
        expect(sw.isOwnEcho('Host', prev as any, inf.get('echo-h1') as any)).toBe(false);
      }
      // A status someone else rewrote is not an echo either (the reconcile must put ours back).
      const prev = inf.get('echo-h1')!;
      const out = await hosts.patchStatus({ name: 'echo-h1' }, { status: { allocated: { vms: 9, vnics: 9 } } }, 'merge');
      await until(() => inf.get('echo-h1')?.metadata.resourceVersion === out.metadata.resourceVersion, 5000, 'foreign status');
      expect(sw.isOwnEcho('Host', prev as any, inf.get('echo-h1') as any)).toBe(false);
    } finally {
      await inf.stop();
    }
  });
});

describe('EventRecorder', () => {
  it('aggregates repeats into one Event with a count', async () => {
    const hosts = env.client.kind('Host');
    const h = await hosts.create(host('e-h1') as any);
    const rec = new EventRecorder({ client: env.client, component: 'vmsafe-test', minPatchIntervalMs: 0 });
    for (let i = 0; i < 5; i++) rec.warning(h, 'AgentLost', 'no heartbeat for 40s');
    rec.normal(h, 'AgentReady', 'heartbeat resumed');
    await rec.flush();
    await until(async () => {
      const evs = (await env.client.resource(EVENTS).list({ namespace: 'default' })).items as any[];
      const lost = evs.filter((e) => e.involvedObject?.name === 'e-h1' && e.reason === 'AgentLost');
      return lost.length === 1 && lost[0].count === 5;
    }, 5000, 'aggregated event');
    const evs = (await env.client.resource(EVENTS).list({ namespace: 'default' })).items as any[];
    const mine = evs.filter((e) => e.involvedObject?.name === 'e-h1');
    expect(mine.map((e) => e.reason).sort()).toEqual(['AgentLost', 'AgentReady']);
    expect(mine.find((e) => e.reason === 'AgentLost')).toMatchObject({ type: 'Warning', involvedObject: { kind: 'Host', uid: h.metadata.uid } });
    expect(rec.stats.created).toBe(2);
    await rec.close();
  });

  it('drops what exceeds the queue instead of flooding the server', async () => {
    const rec = new EventRecorder({ client: env.client, component: 'vmsafe-test', qps: 20, burst: 1, maxPending: 3 });
    const obj = { apiVersion: 'vmsafe.io/v1alpha1', kind: 'Host', metadata: { name: 'flood' } };
    for (let i = 0; i < 20; i++) rec.normal(obj, 'Scheduled', `vm-${i}`);
    expect(rec.stats.dropped).toBeGreaterThanOrEqual(15);
    await rec.close();
  });
});

describe('controller end to end', () => {
  it('fans in VM changes to host keys through an index and converges host status', async () => {
    const metrics = new RuntimeMetrics();
    const hostInf = new Informer<Host>({ client: env.client, resource: kindResource('Host'), schema: hostSchema, metrics: metrics.informerHooks('hosts') });
    const vmInf = new Informer<VM>({ client: env.client, resource: kindResource('VM'), schema: vmSchema, metrics: metrics.informerHooks('vms') });
    vmInf.addIndex('byHost', (v) => (v.spec.hostName ? [v.spec.hostName] : []));
    const server = await startMetricsServer({
      metrics,
      readiness: { 'informers-synced': () => hostInf.hasSynced() && vmInf.hasSynced() },
    });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    const sw = new StatusWriter(env.client, { metrics });
    const ctl = new Controller({
      name: 'host',
      metrics,
      workers: 2,
      reconcile: async (key) => {
        const h = hostInf.get(key);
        if (!h) return;
        const vms = vmInf.byIndex('byHost', key);
        await sw.update('Host', h as any, { allocated: { vms: vms.length, vnics: vms.reduce((n, v) => n + v.spec.vnics.length, 0) } });
      },
    })
      .watchOwn(hostInf)
      .watchMapped(vmInf, (v) => (v.spec.hostName ? [v.spec.hostName] : []));
    hostInf.start();
    vmInf.start();
    expect(await waitForSync([hostInf, vmInf], 5000)).toBe(true);
    ctl.start();
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);

    const hosts = env.client.kind<Host & KubeObject>('Host');
    const vms = env.client.kind('VM');
    await hosts.create(host('x-h1') as any);
    await hosts.create(host('x-h2') as any);
    await vms.create(vm('acme', 'x-a', 'x-h1') as any);
    await vms.create(vm('acme', 'x-b', 'x-h1', ['02:00:00:00:00:01', '02:00:00:00:00:02']) as any);
    const allocated = async (name: string) => ((await hosts.get(name)).status as any)?.allocated;
    await until(async () => (await allocated('x-h1'))?.vnics === 3, 5000, 'h1 counted');
    expect(await allocated('x-h2')).toEqual({ vms: 0, vnics: 0 });

    // Move x-b to h2: the update handler maps old and new objects, so both hosts recount.
    await vms.patch('acme/x-b', { spec: { hostName: 'x-h2' } });
    await until(async () => (await allocated('x-h2'))?.vms === 1 && (await allocated('x-h1'))?.vms === 1, 5000, 'moved');
    expect(await allocated('x-h1')).toEqual({ vms: 1, vnics: 1 });

    await ctl.stop();
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/vmsafe_reconcile_total\{controller="host",result="success"\} \d+/);
    expect(text).toMatch(/vmsafe_workqueue_depth\{name="host"\} 0/);
    expect(text).toMatch(/vmsafe_status_writes_total\{kind="Host",result="written"\} \d+/);
    expect(text).toMatch(/vmsafe_informer_events_total\{informer="vms",type="add"\} 2/);
    await hostInf.stop();
    await vmInf.stop();
    await server.close();
  });
});
