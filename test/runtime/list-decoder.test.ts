// Lists decoded off the main thread: decodeListPage (pure, property-tested against a whole parse),
// the ListDecoder's real worker thread and its in-thread fallback, peekListMetadata, and an informer
// that lists through the worker against the embedded API server, compared with one that does not.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWith, vm as vmSchema, type VM } from '../../src/api';
import { kindResource } from '../../src/runtime/client';
import { Informer, stripManagedFields } from '../../src/runtime/informer';
import { decodeListPage, ListMemo, type DecodedPage } from '../../src/runtime/list-decode';
import { ListDecoder } from '../../src/runtime/list-decoder';
import { peekListMetadata } from '../../src/runtime/strip-managed';
import { ensureNamespace, startEnv, until, vm, type TestEnv } from './fixtures';

const DROPS = { metadata: ['managedFields'] };
const REQ = { drops: DROPS, memoNames: ['spec', 'status'], memoMaxBytes: 16 * 1024 };
const schema = vmSchema as unknown as Parameters<typeof decodeListPage>[2];

/** A page's items as objects: refs resolved from the parts sent so far (the reader's job). */
function resolve(pages: DecodedPage[]) {
  const table = new Map<string, unknown[]>();
  const out: ({ ok: true; value: unknown } | { ok: false; raw: unknown; errors: unknown })[] = [];
  for (const page of pages) {
    for (const [name, i, value] of page.parts) {
      if (!table.has(name)) table.set(name, []);
      table.get(name)![i] = value;
    }
    for (const item of page.items) {
      if (!('v' in item)) {
        out.push({ ok: false, raw: item.raw, errors: item.errors });
        continue;
      }
      const v = { ...item.v };
      for (const n of item.refs ?? []) v[n] = table.get(n)![v[n] as number];
      out.push({ ok: true, value: v });
    }
  }
  return out;
}

const listBytes = (items: unknown[], meta: Record<string, unknown> = { resourceVersion: '7' }) =>
  Buffer.from(JSON.stringify({ kind: 'VMList', apiVersion: 'vmsafe.io/v1alpha1', metadata: meta, items }));

// A small pool of specs and statuses, so texts repeat across items and pages; one spec is invalid
// (duplicate MACs) and one has another member order than the rest.
const SPECS = [
  vm('a', 'x').spec,
  vm('a', 'x', undefined, ['02:00:00:00:00:0b']).spec,
  vm('a', 'x', undefined, ['02:00:00:00:00:0c', '02:00:00:00:00:0C']).spec,
  { vnics: [{ mac: '02:00:00:00:00:01', ip: '10.0.0.1', network: 'prod', name: 'eth0' }] },
];
const STATUSES = [undefined, { phase: 'Running', hostName: 'h1' }, { phase: 'Scheduled', hostName: 'h2' }, { phase: 42 }];

describe('decodeListPage', () => {
  it('gives each item what a whole parse gives (valid value, or the object as listed with its errors), across pages', () => {
    const item = fc.record({
      spec: fc.nat(SPECS.length - 1),
      status: fc.nat(STATUSES.length - 1),
      managed: fc.boolean(),
      badName: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(fc.array(item, { maxLength: 6 }), { minLength: 1, maxLength: 4 }), (pageSpecs) => {
        const memo = new ListMemo();
        const expected: unknown[] = [];
        let n = 0;
        const pages = pageSpecs.map((items) => {
          const objs = items.map((it) => {
            const o: Record<string, unknown> = {
              apiVersion: 'vmsafe.io/v1alpha1',
              kind: 'VM',
              metadata: { name: it.badName ? `Bad_${n++}` : `vm-${n++}`, namespace: 'a', ...(it.managed ? { managedFields: [{ manager: 'm' }] } : {}) },
              spec: SPECS[it.spec],
            };
            if (STATUSES[it.status] !== undefined) o.status = STATUSES[it.status];
            const whole = decodeWith(vmSchema, stripManagedFields(JSON.parse(JSON.stringify(o))));
            expected.push(whole.ok ? { ok: true, value: whole.value } : { ok: false, raw: stripManagedFields(JSON.parse(JSON.stringify(o))), errors: whole.errors });
            return o;
          });
          return decodeListPage(listBytes(objs), REQ, schema, memo);
        });
        expect(resolve(pages)).toEqual(expected);
        // Each distinct valid part is sent once per list.
        const sent = pages.flatMap((p) => p.parts.map(([name, i]) => `${name}#${i}`));
        expect(new Set(sent).size).toBe(sent.length);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses what is not a list object', () => {
    for (const body of ['{"kind":"Status"}', '[1]', '{"items":{}}', 'nope'])
      expect(() => decodeListPage(Buffer.from(body), REQ, schema, new ListMemo()), body).toThrow();
  });
});

describe('peekListMetadata', () => {
  it.each([
    ['before the items', '{"kind":"L","metadata":{"continue":"c1","resourceVersion":"5"},"items":[{"metadata":{"continue":"no"}}]}', { continue: 'c1', resourceVersion: '5' }],
    ['after the items (not read ahead)', '{"items":[],"metadata":{"continue":"c1"}}', undefined],
    ['an escaped member name first (could spell "items")', '{"\\u0069tems":[],"metadata":{"continue":"c1"}}', undefined],
    ['not an object', '[{"metadata":{}}]', undefined],
    ['malformed metadata', '{"metadata":{"continue":tru},"items":[]}', undefined],
  ])('%s', (_what, body, want) => {
    expect(peekListMetadata(Buffer.from(body))).toEqual(want);
  });
});

describe('ListDecoder', () => {
  const items = [0, 1, 2].map((i) => ({ apiVersion: 'vmsafe.io/v1alpha1', kind: 'VM', metadata: { name: `vm-${i}`, namespace: 'a' }, spec: SPECS[0] }));

  it('decodes on its worker thread what the same function gives in-thread, and ends the worker when idle', async () => {
    const d = new ListDecoder({ idleMs: 50 });
    const s = d.open('VM', schema, REQ);
    const page = await s.decode(listBytes(items, { resourceVersion: '9', continue: 'next' }));
    s.close();
    expect(d.stats).toEqual({ worker: 1, inThread: 0 });
    expect(page).toEqual(decodeListPage(listBytes(items, { resourceVersion: '9', continue: 'next' }), REQ, schema, new ListMemo()));
    expect(page.parts).toHaveLength(1); // the spec, once
    await until(() => (d as unknown as { worker?: unknown }).worker === undefined, 5000, 'idle worker ended');
    await d.close();
  });

  it('answers a body that is not a list with InvalidResponse, and keeps decoding', async () => {
    const d = new ListDecoder();
    try {
      const s = d.open('VM', schema, REQ);
      await expect(s.decode(Buffer.from('{"kind":"Status","code":500}'))).rejects.toMatchObject({ reason: 'InvalidResponse' });
      expect((await s.decode(listBytes(items))).items).toHaveLength(3);
      expect(d.stats.worker).toBe(2);
    } finally {
      await d.close();
    }
  });

  it('a worker that dies leaves its pages to the main thread: no page is lost, later lists decode in-thread', async () => {
    const d = new ListDecoder();
    try {
      const s = d.open('VM', schema, REQ);
      expect((await s.decode(listBytes(items))).items).toHaveLength(3); // the worker is up
      const pending = s.decode(listBytes(items.slice(0, 2)));
      await (d as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
      const page = await pending;
      expect(page.items).toHaveLength(2); // answered before the end, or decoded here after it
      await until(() => (d as unknown as { broken: boolean }).broken, 5000, 'worker failure seen');
      const s2 = d.open('VM', schema, REQ);
      const before = d.stats.inThread;
      expect((await s2.decode(listBytes(items))).items).toHaveLength(3);
      expect(d.stats.inThread).toBe(before + 1);
      s.close();
      s2.close();
    } finally {
      await d.close();
    }
  });

  it('decodes in-thread when told not to start a worker', async () => {
    const d = new ListDecoder({ worker: false });
    const s = d.open('VM', schema, REQ);
    expect((await s.decode(listBytes(items))).items).toHaveLength(3);
    expect(d.stats).toEqual({ worker: 0, inThread: 1 });
    s.close();
    await d.close();
  });
});

describe('Informer with a ListDecoder', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await startEnv();
    await ensureNamespace(env.client, 'offthread');
  });
  afterAll(() => env?.close());

  it('caches what an in-thread informer caches, page by page through the worker, and shares equal parts frozen', async () => {
    const vms = env.client.kind('VM');
    const names = SPECS.map((_, i) => [`s${i}-a`, `s${i}-b`]).flat();
    for (const [k, name] of names.entries()) {
      await vms.create({ ...vm('offthread', name), spec: SPECS[Math.floor(k / 2)] } as never);
      const status = STATUSES[k % 3];
      if (status) await vms.patchStatus(`offthread/${name}`, { status });
    }
    const decoder = new ListDecoder();
    const opts = { client: env.client, resource: kindResource('VM'), namespace: 'offthread', shareEqualParts: true, pageSize: 3, memoParts: ['spec', 'status'] as const };
    const off = new Informer<VM>({ ...opts, schema: vmSchema as never, listDecoder: decoder });
    const here = new Informer<VM>({ ...opts, schema: vmSchema as never });
    off.start();
    here.start();
    try {
      expect(await off.waitForSync(10_000)).toBe(true);
      expect(await here.waitForSync(10_000)).toBe(true);
      expect(decoder.stats.worker).toBe(3); // 8 objects in pages of 3, none in-thread
      expect(decoder.stats.inThread).toBe(0);
      for (const name of names) {
        const key = `offthread/${name}`;
        expect(off.get(key), key).toEqual(here.get(key));
        expect(off.getInvalid(key)?.errors, key).toEqual(here.getInvalid(key)?.errors);
        expect(off.getInvalid(key)?.raw, key).toEqual(here.getInvalid(key)?.raw);
      }
      // s2 has duplicate MACs: both refused, kept aside with their errors.
      expect(off.getInvalid('offthread/s2-a')!.errors.map((e) => e.path)).toEqual(['spec.vnics[1].mac']);
      expect(off.get('offthread/s0-b')!.spec).toBe(off.get('offthread/s0-a')!.spec);
      expect(Object.isFrozen(off.get('offthread/s0-a')!.spec)).toBe(true);
      // Watch events after the list are decoded here as before.
      await vms.create({ ...vm('offthread', 'late'), spec: SPECS[1] } as never);
      await until(() => off.get('offthread/late') !== undefined);
      expect(off.get('offthread/late')!.spec).toEqual(off.get('offthread/s1-a')!.spec);
    } finally {
      await off.stop();
      await here.stop();
      await decoder.close();
      for (const name of [...names, 'late']) await vms.delete(`offthread/${name}`).catch(() => undefined);
    }
  });
});
