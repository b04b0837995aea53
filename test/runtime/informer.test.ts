// Informer against the real embedded API server: events, indexes, invalid objects, dropped watches,
// 410 Gone and a server restart (backoff).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodeWith, host as hostSchema, vm as vmSchema, type Host, type VM } from '../../src/api';
import { kindResource, NAMESPACES } from '../../src/runtime/client';
import { Controller } from '../../src/runtime/controller';
import { Informer, stripManagedFields } from '../../src/runtime/informer';
import { ensureNamespace, host, startEnv, until, vm, type TestEnv } from './fixtures';

let env: TestEnv;
beforeAll(async () => {
  env = await startEnv();
  await ensureNamespace(env.client, 'acme');
});
afterAll(() => env?.close());

function recorder<T extends { metadata: { name: string } }>(inf: Informer<T>) {
  const log: string[] = [];
  inf.on({
    add: (o) => log.push(`add ${o.metadata.name}`),
    update: (a, b) => log.push(`update ${a.metadata.name}${a === b ? ' same' : ''}`),
    delete: (o) => log.push(`delete ${o.metadata.name}`),
    invalid: (e, gone) => log.push(`${gone ? 'invalid-gone' : 'invalid'} ${e.key}`),
  });
  return log;
}

describe('Informer', () => {
  it('lists, then delivers add/update/delete with parsed objects and live indexes', async () => {
    const hosts = env.client.kind('Host');
    await hosts.create(host('i-h1', ['gold']) as any);
    const inf = new Informer<Host>({ client: env.client, resource: kindResource('Host'), schema: hostSchema, backoff: { initialMs: 20, maxMs: 100 } });
    inf.addIndex('byTag', (h) => h.spec.tags);
    const log = recorder(inf);
    expect(inf.hasSynced()).toBe(false);
    inf.start();
    expect(await inf.waitForSync(5000)).toBe(true);
    expect(log).toEqual(['add i-h1']);
    // Parsed once at the cache edge: zod defaults are filled in.
    expect(inf.get('i-h1')?.spec.capacity).toEqual({ vms: 320, vnics: 3200 });

    await hosts.create(host('i-h2', ['gold']) as any);
    await until(() => inf.byIndex('byTag', 'gold').length === 2);
    await hosts.patch('i-h1', { spec: { tags: ['silver'] } });
    await until(() => inf.byIndex('byTag', 'silver').length === 1);
    expect(inf.byIndex('byTag', 'gold').map((h) => h.metadata.name)).toEqual(['i-h2']);
    await hosts.delete('i-h2');
    await until(() => !inf.get('i-h2'));
    expect(log).toEqual(['add i-h1', 'add i-h2', 'update i-h1', 'delete i-h2']);
    expect(inf.stats.lists).toBe(1);
    await inf.stop();
    await hosts.delete('i-h1');
  });

  it('a status-only update keeps the cached spec (one copy); a spec change brings the new one', async () => {
    const hosts = env.client.kind('Host');
    await hosts.create(host('i-share', ['gold']) as any);
    const inf = new Informer<Host>({ client: env.client, resource: kindResource('Host'), schema: hostSchema });
    inf.start();
    try {
      expect(await inf.waitForSync(5000)).toBe(true);
      const first = inf.get('i-share')!;
      await hosts.patchStatus('i-share', { status: { conditions: [] } });
      await until(() => inf.get('i-share') !== first);
      const echo = inf.get('i-share')!;
      expect(echo.metadata.generation).toBe(first.metadata.generation);
      expect(echo.spec).toBe(first.spec);
      // Parsed without its spec, the echo is what a whole parse gives, members in the same order.
      const whole = decodeWith(hostSchema, stripManagedFields(await hosts.get('i-share')));
      expect(whole.ok && echo).toEqual(whole.ok && whole.value);
      expect(Object.keys(echo)).toEqual(whole.ok && Object.keys(whole.value));
      await hosts.patch('i-share', { spec: { tags: ['silver'] } });
      await until(() => inf.get('i-share')!.spec.tags[0] === 'silver');
      expect(inf.get('i-share')!.spec).not.toBe(first.spec);
      expect(first.spec.tags).toEqual(['gold']); // the older version is untouched
    } finally {
      await inf.stop();
      await hosts.delete('i-share');
    }
  });

  it('an object deleted and created again under its name while the informer was away gets its new spec (same generation, new uid)', async () => {
    const hosts = env.client.kind('Host');
    await hosts.create(host('i-again', ['gold']) as any);
    const inf = new Informer<Host>({ client: env.client, resource: kindResource('Host'), schema: hostSchema });
    inf.start();
    try {
      expect(await inf.waitForSync(5000)).toBe(true);
      const first = inf.get('i-again')!;
      await inf.stop();
      await hosts.delete('i-again');
      await hosts.create(host('i-again', ['silver']) as any);
      inf.start(); // lists again: the cache still holds the old object
      await until(() => inf.get('i-again')!.metadata.uid !== first.metadata.uid);
      const now = inf.get('i-again')!;
      expect(now.metadata.generation).toBe(first.metadata.generation);
      expect(now.spec.tags).toEqual(['silver']);
    } finally {
      await inf.stop();
      await hosts.delete('i-again');
    }
  });

  it('memoParts: a list decodes each distinct spec and status text once, shares it frozen, and caches what a whole parse gives', async () => {
    await ensureNamespace(env.client, 'memo');
    const vms = env.client.kind('VM');
    // Same spec text twice (a1, a2), another (b1), an invalid one twice (bad1, bad2: duplicate MACs,
    // which pass the CRD schema but not the zod refinement), and a2 again in a spec of other key order.
    const specs: Record<string, unknown> = {
      a1: vm('memo', 'x').spec,
      a2: vm('memo', 'x').spec,
      b1: vm('memo', 'x', undefined, ['02:00:00:00:00:0b']).spec,
      bad1: vm('memo', 'x', undefined, ['02:00:00:00:00:0c', '02:00:00:00:00:0C']).spec,
      bad2: vm('memo', 'x', undefined, ['02:00:00:00:00:0c', '02:00:00:00:00:0C']).spec,
      reordered: { vnics: [{ mac: '02:00:00:00:00:01', ip: '10.0.0.1', network: 'prod', name: 'eth0' }] },
    };
    for (const [name, spec] of Object.entries(specs)) await vms.create({ ...vm('memo', name), spec } as any);
    // Statuses: one text on a1, b1 and bad1, another on a2; reordered and bad2 have none.
    const running = { phase: 'Running', hostName: 'h1', conditions: [{ type: 'Ready', status: 'True', reason: 'Up', message: 'm', lastTransitionTime: '2026-01-01T00:00:00Z' }] };
    const statuses: Record<string, unknown> = { a1: running, b1: running, bad1: running, a2: { phase: 'Scheduled', hostName: 'h2' } };
    for (const [name, status] of Object.entries(statuses)) await vms.patchStatus(`memo/${name}`, { status });
    // Parses of each spec and status text, per informer: a preprocess sees the member as listed (key
    // order kept), in zod's compiled fast path and its runtime parser alike. An invalid object is
    // parsed again by the runtime for its errors, so only texts of valid objects are counted exactly.
    const listed: Record<string, any> = {};
    for (const name of Object.keys(specs)) listed[name] = await vms.get(`memo/${name}`);
    const counted = () => {
      const n = new Map<string, number>();
      const tally = (part: string) => (x: unknown) => {
        const k = `${part} ${JSON.stringify(x)}`;
        n.set(k, (n.get(k) ?? 0) + 1);
        return x;
      };
      const schema = vmSchema.extend({ spec: z.preprocess(tally('spec'), vmSchema.shape.spec), status: z.preprocess(tally('status'), vmSchema.shape.status.unwrap()).optional() });
      const spec = (name: string) => n.get(`spec ${JSON.stringify(listed[name]!.spec)}`) ?? 0;
      const status = (name: string) => n.get(`status ${JSON.stringify(listed[name]!.status)}`) ?? 0;
      return { schema, spec, status };
    };
    const m = counted(), p = counted(), u = counted();
    const opts = { client: env.client, resource: kindResource('VM'), namespace: 'memo', shareEqualParts: true, pageSize: 2 };
    const memo = new Informer<VM>({ ...opts, schema: m.schema as never, memoParts: ['spec', 'status'] });
    const plain = new Informer<VM>({ ...opts, schema: p.schema as never });
    // Without shareEqualParts nothing is frozen and shared, so nothing is remembered either.
    const unshared = new Informer<VM>({ ...opts, shareEqualParts: false, schema: u.schema as never, memoParts: ['spec', 'status'] });
    memo.start();
    plain.start();
    unshared.start();
    try {
      expect(await memo.waitForSync(5000)).toBe(true);
      expect(await plain.waitForSync(5000)).toBe(true);
      expect(await unshared.waitForSync(5000)).toBe(true);
      // Six objects, four spec texts (a1 and a2's, b1's, reordered's, the invalid one of bad1 and
      // bad2, never remembered) and two status texts. With the memo each valid text is parsed once:
      // a2 takes a1's spec, b1 and bad1 a1's status, and each is parsed without the part it knows.
      // Without it (or with nothing shared to remember) each object parses its own.
      for (const [c, copies] of [[m, 1], [p, 2], [u, 2]] as const) {
        expect(c.spec('a1')).toBe(copies);
        expect(c.spec('b1')).toBe(1);
        expect(c.spec('reordered')).toBe(1);
        expect(c.status('a2')).toBe(1);
      }
      expect(m.status('a1')).toBe(1);
      for (const c of [p, u]) expect(c.status('a1')).toBeGreaterThanOrEqual(3);
      expect(m.spec('bad1')).toBeGreaterThanOrEqual(2);
      const a1 = memo.get('memo/a1')!;
      expect(memo.get('memo/a2')!.spec).toBe(a1.spec);
      expect(Object.isFrozen(a1.spec)).toBe(true);
      expect(memo.get('memo/b1')!.spec).not.toBe(a1.spec);
      expect(memo.get('memo/b1')!.status).toBe(a1.status);
      expect(Object.isFrozen(a1.status)).toBe(true);
      expect(memo.get('memo/a2')!.status).not.toBe(a1.status);
      expect(memo.get('memo/reordered')!.spec).toEqual(a1.spec);
      // Every cached object is what parsing it whole gives, and what an informer without the memo holds.
      for (const name of ['a1', 'a2', 'b1', 'reordered']) {
        const whole = decodeWith(vmSchema, stripManagedFields(await vms.get(`memo/${name}`)));
        expect(whole.ok && memo.get(`memo/${name}`)).toEqual(whole.ok && whole.value);
        expect(memo.get(`memo/${name}`)).toEqual(plain.get(`memo/${name}`));
      }
      // An invalid spec is never remembered: each object that carries it is rejected on its own.
      for (const name of ['bad1', 'bad2']) {
        expect(memo.get(`memo/${name}`)).toBeUndefined();
        expect(memo.getInvalid(`memo/${name}`)!.errors.map((e) => e.path)).toEqual(['spec.vnics[1].mac']);
      }
      // The rejected object is kept aside whole: bad1's status came from the memo, not from its bytes.
      expect(memo.getInvalid('memo/bad1')!.raw.status).toEqual(running);
      expect(memo.getInvalid('memo/bad1')!.raw).toEqual(stripManagedFields(await vms.get('memo/bad1')));
      // A watched object with a remembered spec text is parsed (the memo lives for one list only).
      await vms.create({ ...vm('memo', 'late'), spec: specs.bad1 } as any);
      await until(() => memo.getInvalid('memo/late') !== undefined);
      await vms.create({ ...vm('memo', 'late2'), spec: specs.a1 } as any);
      await until(() => memo.get('memo/late2') !== undefined);
      expect(memo.get('memo/late2')!.spec).toEqual(a1.spec);
      expect(m.spec('a1')).toBe(2);
    } finally {
      await memo.stop();
      await plain.stop();
      await unshared.stop();
      for (const name of [...Object.keys(specs), 'late', 'late2']) await vms.delete(`memo/${name}`).catch(() => undefined);
    }
  });

  it('memoParts without a schema: equal parts of listed objects are parsed once and shared, the objects as listed', async () => {
    for (const n of ['memo-ns-1', 'memo-ns-2', 'memo-ns-3']) await ensureNamespace(env.client, n);
    const inf = new Informer<any>({ client: env.client, resource: NAMESPACES, shareEqualParts: true, memoParts: ['spec', 'status'], pageSize: 2 });
    inf.start();
    try {
      expect(await inf.waitForSync(5000)).toBe(true);
      const [a, b, c] = ['memo-ns-1', 'memo-ns-2', 'memo-ns-3'].map((n) => inf.get(n));
      expect(b.spec).toBe(a.spec);
      expect(c.status).toBe(a.status);
      expect(Object.isFrozen(a.status)).toBe(true);
      const listed = await env.client.resource(NAMESPACES).list();
      for (const o of listed.items.filter((x) => x.metadata.name.startsWith('memo-ns-'))) expect(inf.get(o.metadata.name)).toEqual(stripManagedFields(o));
    } finally {
      await inf.stop();
    }
  });

  it('drops its dropMembers from listed and watched objects before parsing', async () => {
    const hosts = env.client.kind('Host');
    await hosts.create(host('i-drop1', ['gold']) as any);
    // No transform: what the cache holds shows what the list delivered.
    const inf = new Informer<any>({ client: env.client, resource: kindResource('Host'), dropMembers: { spec: ['tags', 'capacity'] } });
    inf.start();
    try {
      expect(await inf.waitForSync(5000)).toBe(true);
      const listed = inf.get('i-drop1');
      expect(listed.spec.tags).toBeUndefined();
      expect(listed.spec.networks).toBeDefined();
      expect(listed.metadata.managedFields).toBeUndefined();
      await hosts.create(host('i-drop2', ['gold']) as any);
      await until(() => inf.get('i-drop2') !== undefined);
      const watched = inf.get('i-drop2');
      expect(watched.spec.tags).toBeUndefined();
      expect(watched.spec.networks).toBeDefined();
      expect(watched.metadata.managedFields).toBeUndefined();
      expect(watched.metadata.name).toBe('i-drop2');
    } finally {
      await inf.stop();
      await hosts.delete('i-drop1');
      await hosts.delete('i-drop2');
    }
  });

  it('keeps objects that fail the zod schema aside as invalid entries, without crashing', async () => {
    const vms = env.client.kind('VM');
    const inf = new Informer<VM>({ client: env.client, resource: kindResource('VM'), schema: vmSchema, namespace: 'acme' });
    const log = recorder(inf);
    inf.start();
    await inf.waitForSync(5000);
    // Duplicate MACs (case-insensitive) pass the CRD schema but not our zod refinement.
    await vms.create(vm('acme', 'bad', undefined, ['02:00:00:00:00:0a', '02:00:00:00:00:0A']) as any);
    await until(() => inf.getInvalid('acme/bad') !== undefined);
    expect(inf.get('acme/bad')).toBeUndefined();
    expect(inf.getInvalid('acme/bad')!.errors.map((e) => e.path)).toEqual(['spec.vnics[1].mac']);
    // Fixing it turns it into a normal object.
    await vms.patch('acme/bad', { spec: { vnics: [{ name: 'eth0', network: 'prod', ip: '10.0.0.1', mac: '02:00:00:00:00:0a' }] } });
    await until(() => inf.get('acme/bad') !== undefined);
    expect(inf.getInvalid('acme/bad')).toBeUndefined();
    await vms.delete('acme/bad');
    await until(() => inf.list().length === 0);
    expect(log).toEqual(['invalid acme/bad', 'add bad', 'delete bad']);
    await inf.stop();
  });

  it('keeps the last known good object when a valid one turns invalid (no delete: nothing fails open)', async () => {
    const vms = env.client.kind('VM');
    const inf = new Informer<VM>({ client: env.client, resource: kindResource('VM'), schema: vmSchema, namespace: 'acme' });
    const log = recorder(inf);
    inf.start();
    await inf.waitForSync(5000);
    await vms.create(vm('acme', 'lkg', undefined, ['02:00:00:00:00:1a']) as any);
    await until(() => inf.get('acme/lkg') !== undefined);
    const good = inf.get('acme/lkg')!;
    // Generation 2 duplicates a MAC: the CRD schema lets it through, our decode does not.
    await vms.patch('acme/lkg', { spec: { vnics: [
      { name: 'eth0', network: 'prod', ip: '10.0.0.1', mac: '02:00:00:00:00:1a' },
      { name: 'eth1', network: 'prod', ip: '10.0.0.2', mac: '02:00:00:00:00:1A' },
    ] } });
    await until(() => inf.getInvalid('acme/lkg') !== undefined);
    expect(inf.get('acme/lkg')).toBe(good); // generation 1 still served
    expect(inf.getInvalid('acme/lkg')!.raw.metadata?.generation).toBe(2);
    // Fixed again: an update from the last good to generation 3, and the invalid entry is gone.
    await vms.patch('acme/lkg', { spec: { vnics: [{ name: 'eth0', network: 'prod', ip: '10.0.0.3', mac: '02:00:00:00:00:1a' }] } });
    await until(() => inf.get('acme/lkg')?.metadata.generation === 3);
    expect(inf.getInvalid('acme/lkg')).toBeUndefined();
    await vms.delete('acme/lkg');
    await until(() => inf.list().length === 0);
    expect(log).toEqual(['add lkg', 'invalid acme/lkg', 'update lkg', 'delete lkg']);
    await inf.stop();
  });

  it('survives dropped watches (resumes without relisting) and relists after 410 Gone', async () => {
    const hosts = env.client.kind('Host');
    const inf = new Informer<Host>({ client: env.client, resource: kindResource('Host'), schema: hostSchema, backoff: { initialMs: 20, maxMs: 100 } });
    const log = recorder(inf);
    inf.start();
    await inf.waitForSync(5000);
    await hosts.create(host('w-h1') as any);
    await until(() => !!inf.get('w-h1'));

    for (let i = 0; i < 3; i++) {
      const watches = inf.stats.watches;
      env.server.dropAllWatches();
      await until(() => inf.stats.watches > watches, 5000, 'watch re-established');
      await hosts.patch('w-h1', { spec: { tags: [`t${i}`] } });
      await until(() => inf.get('w-h1')?.spec.tags[0] === `t${i}`);
    }
    expect(inf.stats.lists).toBe(1); // resumed from the last resourceVersion each time

    // Make our resourceVersion too old: a write to another resource moves the global revision, the
    // history is compacted, and the watch is dropped → the resumed watch gets 410 → relist.
    const nsRc = env.client.resource(NAMESPACES);
    for (let i = 0; inf.stats.gone === 0; i++) {
      if (i > 20) throw new Error('never saw 410');
      const watches = inf.stats.watches;
      await nsRc.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `gone-${i}` } });
      env.server.compactHistory();
      env.server.dropAllWatches();
      // Either the resumed watch got 410 or (a bookmark raced us) it resumed fine: try again then.
      await until(() => inf.stats.gone > 0 || inf.stats.watches > watches, 5000);
    }
    await until(() => inf.stats.lists === 2, 5000, 'relist after 410');
    const before = log.length;
    await hosts.create(host('w-h2') as any);
    await until(() => !!inf.get('w-h2'));
    await hosts.delete('w-h1');
    await until(() => !inf.get('w-h1'));
    // The relist found nothing changed: no spurious events; later changes arrive normally.
    expect(log.slice(before)).toEqual(['add w-h2', 'delete w-h1']);
    expect(inf.stats.errors).toBe(0);
    await inf.stop();
    await hosts.delete('w-h2');
  });

  it('backs off and recovers when the API server goes away and comes back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmsafe-rt-'));
    let e2 = await startEnv({ dataDir: dir });
    const port = e2.server.port;
    try {
      const inf = new Informer<Host>({ client: e2.client, resource: kindResource('Host'), schema: hostSchema, backoff: { initialMs: 20, maxMs: 200 } });
      const log = recorder(inf);
      inf.start();
      await inf.waitForSync(5000);
      await e2.client.kind('Host').create(host('r-h1') as any);
      await until(() => !!inf.get('r-h1'));

      await e2.server.close();
      await until(() => inf.stats.errors >= 3, 10_000, 'errors while the server is down');
      const restarted = await startEnv({ dataDir: dir, port, token: e2.server.token });
      const oldClient = e2.client;
      e2 = restarted;
      // The informer keeps using its original client (same URL and CA): create through the new one.
      await e2.client.kind('Host').create(host('r-h2') as any);
      await until(() => !!inf.get('r-h2'), 10_000, 'informer recovered');
      expect(inf.get('r-h1')).toBeDefined();
      expect(log).toContain('add r-h2');
      expect(log.filter((l) => l === 'add r-h1')).toHaveLength(1);
      await inf.stop();
      oldClient.close();
    } finally {
      await e2.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('watches one object by fieldSelector (the agent watching its own HostFilter)', async () => {
    const hosts = env.client.kind('Host');
    await hosts.create(host('f-a') as any);
    await hosts.create(host('f-b') as any);
    const inf = new Informer<Host>({ client: env.client, resource: kindResource('Host'), schema: hostSchema, fieldSelector: 'metadata.name=f-b' });
    inf.start();
    await inf.waitForSync(5000);
    expect(inf.list().map((h) => h.metadata.name)).toEqual(['f-b']);
    await hosts.patch('f-a', { spec: { tags: ['x'] } });
    await hosts.patch('f-b', { spec: { tags: ['y'] } });
    await until(() => inf.get('f-b')?.spec.tags[0] === 'y');
    expect(inf.get('f-a')).toBeUndefined();
    await inf.stop();
  });

  it('lists page by page, asking for the next page before storing this one, and a paged relist deletes what vanished', async () => {
    const hosts = env.client.kind('Host');
    const names = ['p-1', 'p-2', 'p-3', 'p-4', 'p-5'];
    for (const n of names) await hosts.create(host(n) as any);
    // The informer's ResourceClient is the client's cached one: count the list requests it makes.
    const rc = env.client.resource(kindResource('Host'));
    const list = rc.list.bind(rc);
    let lists = 0;
    rc.list = (o) => {
      lists++;
      return list(o);
    };
    try {
      const inf = new Informer<Host>({ client: env.client, resource: kindResource('Host'), schema: hostSchema, pageSize: 2, backoff: { initialMs: 20, maxMs: 100 } });
      const requestedWhenStored = new Map<string, number>();
      inf.on({ add: (h) => requestedWhenStored.set(h.metadata.name, lists) });
      inf.start();
      expect(await inf.waitForSync(5000)).toBe(true);
      const mine = () => inf.list().map((h) => h.metadata.name).filter((n) => n.startsWith('p-')).sort();
      expect(mine()).toEqual(names);
      // Whatever other hosts earlier tests left, there are at least three pages: the first page's
      // objects were stored once the second page had been asked for.
      expect(lists).toBeGreaterThanOrEqual(3);
      const firstPage = [...requestedWhenStored.entries()].slice(0, 2);
      for (const [, requested] of firstPage) expect(requested).toBe(2);

      // While no watch is up, two hosts go and one comes; a 410 forces a (paged) relist.
      await inf.stop();
      await hosts.delete('p-2');
      await hosts.delete('p-4');
      await hosts.create(host('p-6') as any);
      env.server.compactHistory();
      const relists = inf.stats.lists;
      inf.start();
      await until(() => inf.stats.lists > relists && inf.hasSynced() && mine().length === 4, 5000, 'paged relist');
      expect(mine()).toEqual(['p-1', 'p-3', 'p-5', 'p-6']);
      await inf.stop();
    } finally {
      rc.list = list;
      for (const n of [...names, 'p-6']) await hosts.delete(n).catch(() => undefined);
    }
  });
});

describe('the first list (isInInitialList)', () => {
  it('tells add handlers which objects came with the first list: not watch adds, nor the replay to a late handler', async () => {
    const hosts = env.client.kind('Host');
    await hosts.create({ ...(host('il-1') as any), metadata: { name: 'il-1', labels: { il: '1' } } });
    const inf = new Informer<Host>({ client: env.client, resource: kindResource('Host'), schema: hostSchema, labelSelector: 'il=1' });
    const seen: string[] = [];
    inf.on({ add: (h, initial) => seen.push(`${h.metadata.name} ${initial}`) });
    inf.start();
    await inf.waitForSync(5000);
    await hosts.create({ ...(host('il-2') as any), metadata: { name: 'il-2', labels: { il: '1' } } });
    await until(() => seen.length === 2);
    const late: string[] = [];
    inf.on({ add: (h, initial) => late.push(`${h.metadata.name} ${initial}`) });
    expect(seen).toEqual(['il-1 true', 'il-2 false']);
    expect(late.sort()).toEqual(['il-1 false', 'il-2 false']);
    await inf.stop();
    for (const n of ['il-1', 'il-2']) await hosts.delete(n);
  });

  it('Controller.watchMapped with skipInitialList maps only what follows the first list; delayMs enqueues later', async () => {
    const hosts = env.client.kind('Host');
    await hosts.create({ ...(host('wm-1') as any), metadata: { name: 'wm-1', labels: { wm: '1' } } });
    const inf = new Informer<Host>({ client: env.client, resource: kindResource('Host'), schema: hostSchema, labelSelector: 'wm=1' });
    const skipping = new Controller({ name: 'skipping', reconcile: async () => undefined });
    const mapping = new Controller({ name: 'mapping', reconcile: async () => undefined });
    const delayed = new Controller({ name: 'delayed', reconcile: async () => undefined });
    skipping.watchMapped(inf, (h) => [`k-${h.metadata.name}`], { skipInitialList: true });
    mapping.watchMapped(inf, (h) => [`k-${h.metadata.name}`]);
    delayed.watchMapped(inf, (h) => [`k-${h.metadata.name}`], { skipInitialList: true, delayMs: 60_000 });
    inf.start();
    await inf.waitForSync(5000);
    expect([skipping.queue.len(), mapping.queue.len(), delayed.queue.delayedCount()]).toEqual([0, 1, 0]);
    await hosts.create({ ...(host('wm-2') as any), metadata: { name: 'wm-2', labels: { wm: '1' } } });
    await until(() => skipping.queue.len() === 1);
    expect([mapping.queue.len(), delayed.queue.len(), delayed.queue.delayedCount()]).toEqual([2, 0, 1]);
    await inf.stop();
    for (const c of [skipping, mapping, delayed]) await c.stop();
    for (const n of ['wm-1', 'wm-2']) await hosts.delete(n);
  });
});
