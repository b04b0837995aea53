// Watch semantics over HTTPS, and @kubernetes/client-node informers on every vmsafe.io kind,
// including resume after a dropped watch and relist after 410 Gone.
import { CustomObjectsApi, KubeConfig, makeInformer, type KubernetesObject } from '@kubernetes/client-node';
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KINDS } from '../../src/api/registry';
import type { WriteCtx } from '../../src/apiserver/api';
import { eventually, startTestApiServer, type TestApiServer } from '../helpers/apiserver';

let t: TestApiServer;
beforeAll(async () => {
  t = await startTestApiServer({ bookmarkIntervalMs: 150 });
});
afterAll(async () => {
  await t?.close();
});

interface WatchStream {
  events: { type: string; object: any }[];
  /** Response body chunks received (the HTTP client's 'data' events). */
  chunks: number;
  ended: boolean;
  close(): void;
}

function openWatch(path: string): Promise<WatchStream> {
  return new Promise((resolve, reject) => {
    const s: WatchStream = { events: [], chunks: 0, ended: false, close: () => req.destroy() };
    const req = httpsRequest(new URL(path, t.url), { headers: { Authorization: `Bearer ${t.token}` }, ca: t.server.caCert }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`watch status ${res.statusCode}`));
      let buf = '';
      res.setEncoding('utf8'); // a multi-byte character may span two chunks
      res.on('data', (d: string) => {
        s.chunks++;
        buf += d;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          s.events.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
        }
      });
      res.on('end', () => (s.ended = true));
      res.on('close', () => (s.ended = true));
      resolve(s);
    });
    req.on('error', () => (s.ended = true));
    req.end();
  });
}

const CM = '/api/v1/namespaces/default/configmaps';
const cm = (name: string, labels?: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data: { v: '1' } });
const merge = (path: string, patch: object) => t.request('PATCH', path, { raw: JSON.stringify(patch), headers: { 'Content-Type': 'application/merge-patch+json' } });

describe('watch', () => {
  it('a metadata.name field selector gets that name\'s events only, from every namespace (watchers looked up by name)', async () => {
    const ALL = '/api/v1/configmaps?watch=true';
    const a = await openWatch(`${ALL}&fieldSelector=metadata.name%3Dfw-a`);
    const aDefault = await openWatch(`${ALL}&fieldSelector=metadata.name%3Dfw-a,metadata.namespace%3Ddefault`);
    const b = await openWatch(`${ALL}&fieldSelector=metadata.name%3Dfw-b`);
    const every = await openWatch(ALL);
    try {
      await t.request('POST', CM, { body: cm('fw-a') });
      await t.request('POST', CM, { body: cm('fw-b') });
      await t.request('POST', '/api/v1/namespaces/kube-system/configmaps', { body: cm('fw-a') });
      await merge(`${CM}/fw-a`, { data: { v: '2' } });
      await t.request('DELETE', `${CM}/fw-b`);
      const seen = (w: WatchStream) => w.events.filter((e) => e.object.metadata?.name?.startsWith('fw-')).map((e) => `${e.type} ${e.object.metadata.namespace}/${e.object.metadata.name}`);
      await eventually(() => seen(every).length === 5, 5000, 'every event');
      expect(seen(a)).toEqual(['ADDED default/fw-a', 'ADDED kube-system/fw-a', 'MODIFIED default/fw-a']);
      expect(seen(aDefault)).toEqual(['ADDED default/fw-a', 'MODIFIED default/fw-a']);
      expect(seen(b)).toEqual(['ADDED default/fw-b', 'DELETED default/fw-b']);
      expect(seen(every)).toEqual(['ADDED default/fw-a', 'ADDED default/fw-b', 'ADDED kube-system/fw-a', 'MODIFIED default/fw-a', 'DELETED default/fw-b']);
    } finally {
      for (const w of [a, aDefault, b, every]) w.close();
      await t.request('DELETE', `${CM}/fw-a`);
      await t.request('DELETE', '/api/v1/namespaces/kube-system/configmaps/fw-a');
    }
  });

  it('a write\'s response and its watch event carry the same object, multi-byte text included (bytes encoded once)', async () => {
    const w = await openWatch(`${CM}?watch=true&fieldSelector=metadata.name%3Dw-bytes`);
    try {
      const text = 'zürich ✓ 東京 \u2028 "quoted" \\ end';
      // Small, then large enough for the server to keep its bytes for the event (BYTES_CACHE_MIN).
      const created = (await t.request('POST', CM, { body: { ...cm('w-bytes'), data: { v: text } } })).body;
      const big = text.repeat(1000);
      const patched = (await merge(`${CM}/w-bytes`, { data: { v: big } })).body;
      await eventually(() => w.events.length >= 2, 5000, 'events');
      expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED']);
      expect(w.events[0]!.object).toEqual(created);
      expect(w.events[1]!.object).toEqual(patched);
      expect(patched.data.v).toBe(big);
    } finally {
      w.close();
      await t.request('DELETE', `${CM}/w-bytes`);
    }
  });

  it('replays events after a resourceVersion and streams new ones', async () => {
    const a = (await t.request('POST', CM, { body: cm('w-a') })).body;
    await merge(`${CM}/w-a`, { data: { v: '2' } });
    const w = await openWatch(`${CM}?watch=true&resourceVersion=${a.metadata.resourceVersion}`);
    await t.request('DELETE', `${CM}/w-a`);
    await eventually(() => w.events.length >= 2, 5000, 'events');
    expect(w.events.map((e) => e.type)).toEqual(['MODIFIED', 'DELETED']);
    expect(w.events[0]!.object.data.v).toBe('2');
    expect(Number(w.events[1]!.object.metadata.resourceVersion)).toBeGreaterThan(Number(w.events[0]!.object.metadata.resourceVersion));
    w.close();
  });

  it('sends the current state as ADDED when no resourceVersion is given', async () => {
    await t.request('POST', CM, { body: cm('w-init', { grp: 'init' }) });
    const w = await openWatch(`${CM}?watch=1&labelSelector=grp%3Dinit`);
    await eventually(() => w.events.length >= 1, 5000, 'initial event');
    expect(w.events[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'w-init' } } });
    w.close();
  });

  it('turns label transitions into ADDED/DELETED for selector-filtered watches', async () => {
    const start = (await t.request('GET', CM)).body.metadata.resourceVersion;
    const w = await openWatch(`${CM}?watch=true&resourceVersion=${start}&labelSelector=sel%3Dyes`);
    await t.request('POST', CM, { body: cm('w-sel') });
    await merge(`${CM}/w-sel`, { metadata: { labels: { sel: 'yes' } } });
    await merge(`${CM}/w-sel`, { data: { v: '3' } });
    await merge(`${CM}/w-sel`, { metadata: { labels: { sel: null } } });
    await eventually(() => w.events.length >= 3, 5000, 'selector events');
    expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    w.close();
  });

  it('answers a too-old resourceVersion with an ERROR event carrying 410 Expired, and ends the stream', async () => {
    await t.request('POST', CM, { body: cm('w-old') });
    t.server.compactHistory();
    await merge(`${CM}/w-old`, { data: { v: 'x' } });
    const w = await openWatch(`${CM}?watch=true&resourceVersion=1`);
    await eventually(() => w.ended, 5000, 'stream end');
    expect(w.events).toHaveLength(1);
    expect(w.events[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    expect(w.events[0]!.object.message).toMatch(/^too old resource version: 1 \(\d+\)$/);
  });

  it('answers a resourceVersion from the future (server restarted in memory) with 410 too', async () => {
    const w = await openWatch(`${CM}?watch=true&resourceVersion=999999999`);
    await eventually(() => w.ended, 5000, 'stream end');
    expect(w.events[0]).toMatchObject({ type: 'ERROR', object: { code: 410 } });
    expect(w.events[0]!.object.message).toMatch(/^too large resource version: 999999999, current: \d+$/);
  });

  it('sends bookmarks when asked and ends at timeoutSeconds', async () => {
    const rv = (await t.request('GET', CM)).body.metadata.resourceVersion;
    const w = await openWatch(`${CM}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true&timeoutSeconds=1`);
    await eventually(() => w.ended, 5000, 'timeout');
    expect(w.events.length).toBeGreaterThan(0);
    expect(w.events.every((e) => e.type === 'BOOKMARK')).toBe(true);
    expect(w.events[0]!.object).toMatchObject({ kind: 'ConfigMap', apiVersion: 'v1' });
    expect(Number(w.events[0]!.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(rv));
  });

  it('sends the events of one turn as one chunk, in order, and what it queued before it ends', async () => {
    const rv = (await t.request('GET', CM)).body.metadata.resourceVersion;
    const w = await openWatch(`${CM}?watch=true&resourceVersion=${rv}&labelSelector=grp%3Dturn`);
    const store = t.server.store;
    const stored = (name: string, v: string) => ({ ...cm(name, { grp: 'turn' }), metadata: { name, namespace: 'default', labels: { grp: 'turn' }, uid: `uid-${name}` }, data: { v } });
    // Three writes in one turn of the server's event loop, then the watch ended in the same turn.
    store.put('/configmaps', stored('turn-a', '1'));
    store.put('/configmaps', stored('turn-b', '1'));
    store.put('/configmaps', stored('turn-a', '2'));
    t.server.dropAllWatches();
    await eventually(() => w.ended, 5000, 'stream end');
    expect(w.events.map((e) => `${e.type} ${e.object.metadata.name} ${e.object.data.v}`)).toEqual(['ADDED turn-a 1', 'ADDED turn-b 1', 'MODIFIED turn-a 2']);
    expect(w.chunks).toBe(1);
    store.remove('/configmaps', 'default/turn-a');
    store.remove('/configmaps', 'default/turn-b');
  });

  it('filters cluster-wide watches by namespace path', async () => {
    const rv = (await t.request('GET', CM)).body.metadata.resourceVersion;
    const w = await openWatch(`/api/v1/namespaces/kube-system/configmaps?watch=true&resourceVersion=${rv}`);
    await t.request('POST', CM, { body: cm('w-ns-default') });
    await t.request('POST', '/api/v1/namespaces/kube-system/configmaps', { body: cm('w-ns-ks') });
    await eventually(() => w.events.length >= 1, 5000, 'namespaced event');
    expect(w.events.map((e) => e.object.metadata.name)).toEqual(['w-ns-ks']);
    w.close();
  });
});

// ---------------------------------------------------------------- client-node informers

const SPECS: Record<string, object> = {
  Tenant: {},
  Tag: {},
  Host: {},
  VM: { vnics: [{ name: 'eth0', network: 'prod', ip: '10.0.0.9', mac: '02:00:00:00:00:09' }] },
  SecurityPolicy: {},
  HostFilter: { hostName: 'h1', hash: 'h-0' },
  AddressGroup: { group: 'ags-1', prefix: '10.0.0.0/16', addresses: ['10.0.0.9'], hash: 'h-0' },
};

describe('client-node informers', () => {
  const ctx = (): WriteCtx => ({ manager: 'test', dryRun: false, fieldValidation: 'Strict', warnings: [] });

  it('receive add, update and delete on every kind, resume after dropped watches and relist after 410', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(t.server.kubeconfig());
    const co = kc.makeApiClient(CustomObjectsApi);
    const ns = 'default';
    const informers = KINDS.map((k) => {
      const path = k.namespaced ? `/apis/vmsafe.io/v1alpha1/namespaces/${ns}/${k.plural}` : `/apis/vmsafe.io/v1alpha1/${k.plural}`;
      const lists = { n: 0 };
      const list = () =>
        (lists.n++, k.namespaced
          ? co.listNamespacedCustomObject({ group: 'vmsafe.io', version: 'v1alpha1', namespace: ns, plural: k.plural })
          : co.listClusterCustomObject({ group: 'vmsafe.io', version: 'v1alpha1', plural: k.plural })) as Promise<any>;
      const inf = makeInformer<KubernetesObject>(kc, path, list);
      const seen = { add: [] as string[], update: [] as string[], delete: [] as string[], errors: [] as unknown[] };
      inf.on('add', (o) => seen.add.push(o.metadata!.name!));
      inf.on('update', (o) => seen.update.push(o.metadata!.name!));
      inf.on('delete', (o) => seen.delete.push(o.metadata!.name!));
      inf.on('error', (e) => seen.errors.push(e));
      return { k, inf, seen, path, lists };
    });
    await Promise.all(informers.map((i) => i.inf.start()));
    try {
      const base = (k: (typeof KINDS)[number], name: string) => ({
        apiVersion: 'vmsafe.io/v1alpha1', kind: k.kind, metadata: { name, namespace: k.namespaced ? ns : undefined }, spec: SPECS[k.kind],
      });
      const defOf = (k: (typeof KINDS)[number]) => t.server.api.registry.get('vmsafe.io', 'v1alpha1', k.plural)!;

      for (const { k } of informers) expect((await t.request('POST', informers.find((i) => i.k === k)!.path, { body: base(k, `${k.singular}-1`) })).status).toBe(201);
      for (const i of informers) await eventually(() => i.seen.add.includes(`${i.k.singular}-1`), 5000, `${i.k.kind} add`);

      for (const i of informers) await merge(`${i.path}/${i.k.singular}-1`, { metadata: { labels: { touched: 'yes' } } });
      for (const i of informers) await eventually(() => i.seen.update.includes(`${i.k.singular}-1`), 5000, `${i.k.kind} update`);

      // The server drops every watch: informers resume from their last resourceVersion, no relist.
      t.server.dropAllWatches();
      for (const i of informers) await t.request('POST', i.path, { body: base(i.k, `${i.k.singular}-2`) });
      for (const i of informers) await eventually(() => i.seen.add.includes(`${i.k.singular}-2`), 5000, `${i.k.kind} add after drop`);
      for (const i of informers) expect(i.lists.n).toBe(1); // resumed from its resourceVersion, no relist

      // Forced 410: drop watches, change state and compact history in the same tick, so the
      // resume is too old; the informer relists and its cache ends right (including the delete).
      t.server.dropAllWatches();
      for (const i of informers) {
        void t.server.api.create(defOf(i.k), i.k.namespaced ? ns : undefined, base(i.k, `${i.k.singular}-3`), ctx());
        void t.server.api.delete(defOf(i.k), i.k.namespaced ? ns : undefined, `${i.k.singular}-2`, {}, ctx());
      }
      t.server.compactHistory();
      for (const i of informers) {
        await eventually(() => {
          const names = i.inf.list(i.k.namespaced ? ns : undefined).map((o) => o.metadata!.name).sort();
          return JSON.stringify(names) === JSON.stringify([`${i.k.singular}-1`, `${i.k.singular}-3`]);
        }, 5000, `${i.k.kind} cache after relist`);
        expect(i.seen.delete).toContain(`${i.k.singular}-2`);
        expect(i.lists.n).toBe(2); // one initial list, one relist after 410
      }

      for (const i of informers) await t.request('DELETE', `${i.path}/${i.k.singular}-1`);
      for (const i of informers) await eventually(() => i.seen.delete.includes(`${i.k.singular}-1`), 5000, `${i.k.kind} delete`);
      for (const i of informers) expect(i.seen.errors).toEqual([]);
    } finally {
      await Promise.all(informers.map((i) => i.inf.stop()));
    }
  });
});
