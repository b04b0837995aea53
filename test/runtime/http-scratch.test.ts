// Parsed responses in reused buffers (ScratchBody, ScratchPool, NodeHttpLibrary.sendParsed): every body
// read whole and exact, whatever its chunks, sizes and the bodies before it; over real HTTP through
// KubeClient's list, a body larger than the buffer, a shorter one after it, errors, a 2xx that is not a
// list and a connection lost mid-body.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NodeHttpLibrary, ScratchBody, ScratchPool } from '../../src/runtime/http';
import { KubeClient } from '../../src/runtime/client';
import { ApiError } from '../../src/runtime/errors';
import { MANAGED_FIELDS } from '../../src/runtime/strip-managed';

describe('ScratchBody', () => {
  it('gives the concatenation of its chunks, body after body from one pool, which keeps only small buffers', () => {
    const chunk = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
    fc.assert(
      fc.property(fc.array(fc.array(chunk, { maxLength: 8 }), { minLength: 1, maxLength: 6 }), (bodies) => {
        const pool = new ScratchPool(16, 64, 2);
        for (const chunks of bodies) {
          const body = new ScratchBody(pool);
          for (const c of chunks) body.push(c);
          const view = body.view();
          expect(view.equals(Buffer.concat(chunks))).toBe(true);
          expect(body.view().equals(view)).toBe(true); // the same bytes until release
          body.release();
          expect(pool.size).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('reuses the buffer of the last body, and grows the pooled one up to the pool\'s max', () => {
    const pool = new ScratchPool(4, 64, 2);
    const a = new ScratchBody(pool);
    a.push(Buffer.from('abc'));
    const first = a.view().buffer;
    a.release();
    const b = new ScratchBody(pool);
    b.push(Buffer.from('xy'));
    expect(b.view().buffer).toBe(first); // same memory, exact length: nothing of "abc" shows
    expect(b.view().toString()).toBe('xy');
    b.push(Buffer.from('0123456789'));
    expect(b.view().toString()).toBe('xy0123456789');
    expect(b.view().buffer).not.toBe(first);
    b.release();
    expect(pool.size).toBe(1);
    const c = new ScratchBody(pool);
    c.push(Buffer.alloc(100, 1)); // past max: read whole, not pooled
    expect(c.view().length).toBe(100);
    c.release();
    expect(pool.size).toBe(0);
    const d = new ScratchBody(pool);
    d.release();
    d.release(); // a second release does not put the same buffer in the pool twice
    expect(pool.size).toBe(1);
  });
});

describe('sendParsed through KubeClient.list', () => {
  const vm = (i: number, pad: number) => ({
    apiVersion: 'vmsafe.io/v1alpha1',
    kind: 'VM',
    metadata: { name: `vm-${i}`, namespace: 'acme', managedFields: [{ manager: 'x', fieldsV1: { pad: 'm'.repeat(pad) } }] },
    spec: { note: 'ü'.repeat(pad) },
  });
  const lists: Record<string, { status: number; body: string }> = {};
  let server: http.Server;
  let client: KubeClient;
  beforeAll(async () => {
    // Large: ~5 MB in 64 KiB writes (past the 2 MiB buffer); small: after it, in the same buffer.
    lists.large = { status: 200, body: JSON.stringify({ kind: 'VMList', metadata: { resourceVersion: '7' }, items: Array.from({ length: 50 }, (_, i) => vm(i, 50_000)) }) };
    lists.large2 = { status: 200, body: JSON.stringify({ kind: 'VMList', metadata: { resourceVersion: '9' }, items: Array.from({ length: 40 }, (_, i) => vm(100 + i, 60_000)) }) };
    lists.html = { status: 200, body: '<html><body>Sign in to continue</body></html>' };
    lists.cut = { status: 200, body: lists.large.body.slice(0, 100_000) };
    lists.small = { status: 200, body: JSON.stringify({ kind: 'VMList', metadata: { resourceVersion: '8' }, items: [vm(1, 3)] }) };
    lists.error = { status: 403, body: JSON.stringify({ kind: 'Status', reason: 'Forbidden', message: 'vms is forbidden', code: 403 }) };
    lists.notalist = { status: 200, body: '{"items":[1,2],"metadata":{}}' };
    server = http.createServer((req, res) => {
      const sel = new URL(req.url!, 'http://x').searchParams.get('labelSelector') ?? '';
      const l = lists[sel === 'dropped' ? 'large' : sel] ?? lists.small!;
      res.writeHead(l.status, { 'content-type': 'application/json' });
      const b = Buffer.from(l.body);
      if (sel === 'dropped') {
        // Half the body, then the connection is gone: the call fails, nothing half-read is listed.
        res.write(b.subarray(0, b.length >> 1), () => res.destroy());
        return;
      }
      for (let at = 0; at < b.length; at += 65_536) res.write(b.subarray(at, at + 65_536));
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    client = new KubeClient({ yaml: `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
` });
  });
  afterAll(async () => {
    client?.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const strip = (body: string) => {
    const l = JSON.parse(body);
    for (const it of l.items) delete it.metadata.managedFields;
    return l.items;
  };
  const list = (sel: string) => client.kind('VM').list({ labelSelector: sel, dropItemMembers: MANAGED_FIELDS });

  it('lists exactly what was sent, large then small then large, concurrently too, through sendParsed', async () => {
    const sent = vi.spyOn(NodeHttpLibrary.prototype, 'sendParsed');
    expect((await list('large')).items).toEqual(strip(lists.large!.body));
    expect((await list('small')).items).toEqual(strip(lists.small!.body));
    const names = ['large', 'small', 'large2', 'small', 'large'];
    const all = await Promise.all(names.map(list));
    all.forEach((l, i) => expect(l.items).toEqual(strip(lists[names[i]!]!.body)));
    expect(all.map((l) => l.metadata.resourceVersion)).toEqual(['7', '8', '9', '8', '7']);
    expect(sent).toHaveBeenCalledTimes(7);
    sent.mockRestore();
  });

  it('an error status is read as text; a body the scanner declines is parsed whole', async () => {
    const err = await list('error').catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 403, reason: 'Forbidden', message: 'vms is forbidden' });
    expect((await list('notalist')).items).toEqual([1, 2]);
  });

  it('a 2xx that is not a list, or a body cut off, fails the call (never an empty list); the next list is whole', async () => {
    for (const sel of ['html', 'cut', 'dropped']) {
      const err = await list(sel).catch((e) => e);
      expect(err, sel).toBeInstanceOf(ApiError);
      expect(err.code, sel).toBe(0);
    }
    expect((await list('large2')).items).toEqual(strip(lists.large2!.body));
  });
});
