// CompileFeed.flushInTurns against the real embedded API server: a flush asked for while the first
// compile takes its turns runs afterwards, and later changes keep compiling (a stuck "scheduled"
// flag once stopped every later change from reaching the compiler). And the periodic resync's
// re-feed: nothing when the compiler holds what the caches hold, exactly a missed change otherwise.
// And a VM's status write, handed to the compiler at once, is not compiled again when its echo comes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompileFeed, inputKey } from '../../src/controllers/compile-feed';
import { World } from '../../src/controllers/world';
import { silentLogger } from '../../src/util/log';
import { ensureNamespace, host, startEnv, until, vm, type TestEnv } from '../runtime/fixtures';

let env: TestEnv;
beforeAll(async () => {
  env = await startEnv();
  await ensureNamespace(env.client, 'turns');
});
afterAll(() => env?.close());

/** Tenant `ns` with these VMs in its namespace, and a World and CompileFeed synced and compiled over them. */
async function compiledTenant(ns: string, vms: ReturnType<typeof vm>[]) {
  const client = env.client;
  await ensureNamespace(client, ns);
  await client.kind('Tenant').create({ apiVersion: 'vmsafe.io/v1alpha1', kind: 'Tenant', metadata: { name: ns }, spec: {} } as any);
  for (const v of vms) await client.kind('VM').create(v as any);
  const world = new World(client, { logger: silentLogger });
  const feed = new CompileFeed(world, silentLogger, {});
  const stop = async () => {
    feed.stop();
    await world.stop();
  };
  world.start();
  try {
    expect(await world.waitForSync(5000)).toBe(true);
  } catch (e) {
    await stop();
    throw e;
  }
  feed.start();
  feed.flush();
  return { world, feed, stop };
}

/**
 * compiledTenant with one VM, assumed on a host as the VM controller assumes one before writing its
 * status; `snapshot` is the cached VM its reconcile started from.
 */
async function assumedVm(ns: string, mac: string) {
  const t = await compiledTenant(ns, [vm(ns, 'vm-0', undefined, [mac])]);
  const key = `${ns}/vm-0`;
  const snapshot = t.world.vms.get(key)!;
  t.feed.assume(snapshot, { phase: 'Scheduled', tenant: ns, hostName: 'turns-h1' } as any, Date.now());
  t.feed.flush();
  return { ...t, key, ref: { namespace: ns, name: 'vm-0' }, snapshot };
}

describe('CompileFeed.flushInTurns', () => {
  it('compiles everything, then every later change too', async () => {
    const client = env.client;
    await client.kind('Tenant').create({ apiVersion: 'vmsafe.io/v1alpha1', kind: 'Tenant', metadata: { name: 'turns' }, spec: {} } as any);
    await client.kind('Host').create(host('turns-h1') as any);
    for (let i = 0; i < 20; i++) await client.kind('VM').create(vm('turns', `vm-${i}`, 'turns-h1', [`02:00:00:00:01:${i.toString(16).padStart(2, '0')}`]) as any);
    const world = new World(client, { logger: silentLogger });
    const feed = new CompileFeed(world, silentLogger, {});
    world.start();
    try {
      expect(await world.waitForSync(5000)).toBe(true);
      feed.start(); // pushes what the informers hold: a flush is scheduled for the next turn
      // A slice of 0 ms: a turn at every step, so the scheduled flush comes while this one runs.
      await feed.flushInTurns(0);
      expect(feed.compiledAt(inputKey('VM', { namespace: 'turns', name: 'vm-19' }), undefined)).toBeDefined();

      // A change after the first compile reaches the compiler.
      const created = await client.kind('VM').create(vm('turns', 'late', 'turns-h1', ['02:00:00:00:02:01']) as any);
      const key = inputKey('VM', { namespace: 'turns', name: 'late' });
      await until(() => feed.compiledAt(key, created.metadata.generation) !== undefined, 5000, 'the late VM compiled');
    } finally {
      feed.stop();
      await world.stop();
    }
  });

  it('compiles a large batch it scheduled itself (a resync) in turns, and all of it', async () => {
    const world = new World(env.client, { logger: silentLogger });
    // Every batch counts as large here, and takes a turn at every step.
    const feed = new CompileFeed(world, silentLogger, { turns: { minChanges: 1, sliceMs: 0 } });
    world.start();
    try {
      expect(await world.waitForSync(5000)).toBe(true);
      feed.start(); // schedules a flush of everything the informers hold
      const key = inputKey('VM', { namespace: 'turns', name: 'vm-19' });
      // This turn runs after the scheduled flush's first step: a flush at once would be done by now.
      await new Promise<void>((r) => setImmediate(r));
      expect(feed.compiledAt(key, undefined)).toBeUndefined();
      await until(() => feed.compiledAt(key, undefined) !== undefined, 5000, 'the scheduled flush done');
    } finally {
      feed.stop();
      await world.stop();
    }
  });

  it('resyncChanged re-feeds nothing when nothing was missed, and exactly an object whose change was', async () => {
    const client = env.client;
    const { world, feed, stop } = await compiledTenant('resync', Array.from({ length: 5 }, (_, i) => vm('resync', `vm-${i}`, 'turns-h1', [`02:00:00:00:03:0${i}`])));
    try {
      expect(feed.resyncChanged()).toBe(0);
      // Events stop reaching the feed: the label change below is one it misses.
      feed.stop();
      await client.kind('VM').patch({ namespace: 'resync', name: 'vm-3' }, { metadata: { labels: { tier: 'db' } } });
      await until(() => world.vms.get('resync/vm-3')?.metadata.labels?.tier === 'db', 5000, 'the cache holds the change');
      const before = feed.stats.changes;
      expect(feed.resyncChanged()).toBe(1);
      feed.flush();
      expect(feed.stats.changes - before).toBe(1);
      expect(feed.compiler.inventory.vmObjects.get('resync/vm-3')?.metadata.labels).toEqual({ tier: 'db' });
      expect(feed.resyncChanged()).toBe(0);
    } finally {
      await stop();
    }
  });

  it('does not compile the echo of a status write it was handed, and does compile the next change', async () => {
    const client = env.client;
    const { world, feed, stop, key, ref, snapshot } = await assumedVm('echo', '02:00:00:00:04:01');
    try {
      // The VM controller's path: assumed on a host, then written Running there.
      const status = { phase: 'Running', tenant: 'echo', hostName: 'turns-h1' };
      await client.kind('VM').patchStatus(ref, { status } as any);
      feed.settleAssumption(key, { ...snapshot, status } as any);
      feed.flush();
      expect(feed.compiler.inventory.vmObjects.get(key)?.status?.phase).toBe('Running');
      const before = { changes: feed.stats.changes, skipped: feed.stats.skipped };
      await until(() => world.vms.get(key)?.status?.phase === 'Running', 5000, 'the echo in the cache');
      feed.flush();
      expect(feed.stats.changes).toBe(before.changes);
      expect(feed.stats.skipped).toBe(before.skipped + 1);
      // ... and holds the cache's copy from then on, not the one built for the write.
      expect(feed.compiler.inventory.vmObjects.get(key)).toBe(world.vms.get(key));
      // A change of what the compiler reads still reaches it.
      await client.kind('VM').patch(ref, { metadata: { labels: { tier: 'db' } } } as any);
      await until(() => feed.compiler.inventory.vmObjects.get(key)?.metadata.labels?.tier === 'db', 5000, 'the label change compiled');
      expect(feed.compiler.inventory.vmObjects.get(key)?.status?.hostName).toBe('turns-h1');
    } finally {
      await stop();
    }
  });

  it('settles an assumption with what the cache holds by then: a label edit during the status write stays compiled', async () => {
    const client = env.client;
    const { world, feed, stop, key, ref, snapshot } = await assumedVm('settle', '02:00:00:00:05:01');
    try {
      // A label edit lands while the status write is in flight; its echo has not come yet.
      await client.kind('VM').patch(ref, { metadata: { labels: { tier: 'db' } } } as any);
      await until(() => world.vms.get(key)?.metadata.labels?.tier === 'db', 5000, 'the edit in the cache');
      feed.flush();
      feed.settleAssumption(key, { ...snapshot, status: { phase: 'Running', tenant: 'settle', hostName: 'turns-h1' } } as any);
      feed.flush();
      const held = feed.compiler.inventory.vmObjects.get(key);
      expect(held?.metadata.labels).toEqual({ tier: 'db' });
      expect(held?.status?.hostName).toBe('turns-h1');
      expect(held?.status?.phase).toBe('Running');
    } finally {
      await stop();
    }
  });
});

describe('CompileFeed.onAppliedReset', () => {
  const otherIp = (v: ReturnType<typeof vm>) => ({ ...v, spec: { ...v.spec, vnics: [{ ...v.spec.vnics[0]!, ip: '10.0.0.9' }] } });
  it("reports a host whose content goes back to the version its agent enforces (no report will say so), and a host that is gone", async () => {
    const client = env.client;
    const h = 'reset-h1';
    await client.kind('Host').create(host(h) as any);
    const { world, feed, stop } = await compiledTenant('reset', [vm('reset', 'a', undefined, ['02:00:00:00:06:01']), otherIp(vm('reset', 'b', undefined, ['02:00:00:00:06:02']))]);
    const resets: string[][] = [];
    feed.onAppliedReset((hosts) => resets.push(hosts));
    const assumeOn = (name: string) => {
      feed.assume(world.vms.get(`reset/${name}`)!, { phase: 'Scheduled', tenant: 'reset', hostName: h } as any, Date.now());
      feed.flush();
      return feed.compiler.spec(h)!.hash;
    };
    try {
      await until(() => !!world.hosts.get(h), 5000, 'the host in the cache');
      const a = assumeOn('a');
      // The agent enforces version a.
      await client.kind('HostFilter').create({ apiVersion: 'vmsafe.io/v1alpha1', kind: 'HostFilter', metadata: { name: h }, spec: { hostName: h, hash: a, programs: [], addressGroups: [], bindings: [] } } as any);
      await client.kind('HostFilter').patchStatus({ name: h }, { status: { appliedHash: a } } as any);
      await until(() => world.filters.get(h)?.status?.appliedHash === a, 5000, 'the applied version in the cache');
      // b lands: a version the agent does not hold, nothing to report.
      expect(assumeOn('b')).not.toBe(a);
      expect(resets).toEqual([]);
      // b goes again before that version was applied: the content is a's again, which the agent enforces.
      feed.settleAssumption('reset/b', undefined);
      feed.flush();
      expect(feed.compiler.spec(h)!.hash).toBe(a);
      expect(resets).toEqual([[h]]);
      await client.kind('Host').delete({ name: h });
      await until(() => resets.length === 2, 5000, 'the deleted host reported');
      expect(resets[1]).toEqual([h]);
    } finally {
      await stop();
    }
  });
});
