// The stale Tag count the periodic resync used to repair: a status that went 1 → 2 → 1 before the
// watch echo of the first write reached the cache was never written back. The status writer diffed
// the third status against the stale cached one (equal: nothing to write) while the server held 2,
// and then skipped the echo of write 2 as its own, so nothing reconciled again until the resync.
// Against the embedded API server with the real client (no operator: nothing else writes the Tag).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tag } from '../../src/api';
import { KubeClient } from '../../src/runtime/client';
import { StatusWriter } from '../../src/runtime/status';
import { startTestApiServer, type TestApiServer } from '../helpers/apiserver';

let api: TestApiServer;
beforeAll(async () => {
  api = await startTestApiServer();
}, 30_000);
afterAll(async () => {
  await api?.close();
});

describe.each([false, true])('StatusWriter from a stale cached object (discardResponses: %s)', (discardResponses) => {
  it('a status that goes back to the cached value before the echo arrives is written (no stale count)', async () => {
    const name = `flip-${discardResponses}`;
    await api.ok(['apply', '-f', '-'], `apiVersion: vmsafe.io/v1alpha1\nkind: Tag\nmetadata: {name: ${name}}\nspec: {}\n`);
    const writer = new StatusWriter(new KubeClient({ file: api.kubeconfigPath }), { discardResponses });
    const get = async (): Promise<Tag> => JSON.parse(await api.ok(['get', 'tag', name, '-o', 'json']));
    const status = (vms: number) => ({ hosts: 0, vms, networks: 0 });
    // The cache holds the object with vms 1.
    const before = await get();
    const first = await writer.update('Tag', before, status(1));
    // The object the server returned, or (not parsed) the input.
    if (discardResponses) expect(first.object).toBe(before);
    else expect((first.object as Tag).status?.vms).toBe(1);
    const cached = await get();
    expect(cached.status?.vms).toBe(1);
    // Reconcile 1 (vms 2) writes; reconcile 2 (vms 1 again) runs from the same cached object, before
    // the echo of write 1 reached the cache: the server holds 2, so 1 must be written.
    expect((await writer.update('Tag', cached, status(2))).written).toBe(true);
    expect((await get()).status?.vms).toBe(2);
    expect((await writer.update('Tag', cached, status(1))).written).toBe(true);
    expect((await get()).status?.vms).toBe(1);
    // And the same status again from the same stale object is not written twice.
    expect((await writer.update('Tag', cached, status(1))).written).toBe(false);
  }, 30_000);
});

describe.each([false, true])('StatusWriter from a cached object older than its own last write (discardResponses: %s)', (discardResponses) => {
  it('a status that goes back while the cache holds a newer object without that write is written', async () => {
    // An agent's applied hash going A → B → A while its filter's spec went B → A: the write of B was
    // made from the object before the spec change, and the cache then shows that change (a newer
    // resourceVersion) but not yet the write. The server holds B: A must be written again.
    const name = `across-${discardResponses}`;
    await api.ok(['apply', '-f', '-'], `apiVersion: vmsafe.io/v1alpha1\nkind: Tag\nmetadata: {name: ${name}}\nspec: {description: one}\n`);
    const writer = new StatusWriter(new KubeClient({ file: api.kubeconfigPath }), { discardResponses });
    const get = async (): Promise<Tag> => JSON.parse(await api.ok(['get', 'tag', name, '-o', 'json']));
    const status = (vms: number) => ({ hosts: 0, vms, networks: 0 });
    expect((await writer.update('Tag', await get(), status(1))).written).toBe(true);
    const older = await get();
    // Someone else changes the spec; the cache will see that object, not yet our next write.
    await api.ok(['patch', 'tag', name, '--type', 'merge', '-p', '{"spec":{"description":"two"}}']);
    const newer = await get();
    expect(newer.metadata.resourceVersion).not.toBe(older.metadata.resourceVersion);
    expect((await writer.update('Tag', older, status(2))).written).toBe(true);
    expect((await get()).status?.vms).toBe(2);
    // From the newer cached object (status vms 1, spec two): the server holds 2, so 1 is written.
    expect((await writer.update('Tag', newer, status(1))).written).toBe(true);
    expect((await get()).status?.vms).toBe(1);
  }, 30_000);
});

describe('StatusWriter per-call discardResponse', () => {
  it('overrides the writer default either way; the write lands both times', async () => {
    await api.ok(['apply', '-f', '-'], 'apiVersion: vmsafe.io/v1alpha1\nkind: Tag\nmetadata: {name: per-call}\nspec: {}\n');
    const get = async (): Promise<Tag> => JSON.parse(await api.ok(['get', 'tag', 'per-call', '-o', 'json']));
    const parsing = new StatusWriter(new KubeClient({ file: api.kubeconfigPath }));
    const before = await get();
    const a = await parsing.update('Tag', before, { hosts: 0, vms: 1, networks: 0 }, { discardResponse: true });
    expect([a.written, a.object]).toEqual([true, before]);
    expect(a.object).toBe(before);
    expect((await get()).status?.vms).toBe(1);
    const discarding = new StatusWriter(new KubeClient({ file: api.kubeconfigPath }), { discardResponses: true });
    const b = await discarding.update('Tag', await get(), { hosts: 0, vms: 2, networks: 0 }, { discardResponse: false });
    expect(b.written).toBe(true);
    expect((b.object as Tag).status?.vms).toBe(2);
  }, 30_000);
});

describe('StatusWriter memo of its own writes', () => {
  it('recognizes the echo once, then forgets it; an unechoed memo is forgotten after 30 s', async () => {
    for (const n of ['memo-a', 'memo-b']) await api.ok(['apply', '-f', '-'], `apiVersion: vmsafe.io/v1alpha1\nkind: Tag\nmetadata: {name: ${n}}\nspec: {}\n`);
    const get = async (n: string): Promise<Tag> => JSON.parse(await api.ok(['get', 'tag', n, '-o', 'json']));
    let now = 1_000_000;
    const writer = new StatusWriter(new KubeClient({ file: api.kubeconfigPath }), { discardResponses: true, now: () => now });
    const status = (vms: number) => ({ hosts: 0, vms, networks: 0 });
    const a = await get('memo-a');
    expect((await writer.update('Tag', a, status(3))).written).toBe(true);
    const echo = await get('memo-a');
    expect(writer.isOwnEcho('Tag', a, echo)).toBe(true);
    expect(writer.isOwnEcho('Tag', a, echo)).toBe(false);
    // A memo whose echo never came: the same status from the same stale object is skipped for 30 s...
    const b = await get('memo-b');
    expect((await writer.update('Tag', b, status(4))).written).toBe(true);
    now += 29_000;
    expect((await writer.update('Tag', b, status(4))).written).toBe(false);
    // ...and written again (a no-op on the server) once another write found it older than that.
    now += 2_000;
    expect((await writer.update('Tag', await get('memo-a'), status(5))).written).toBe(true);
    expect((await writer.update('Tag', b, status(4))).written).toBe(true);
    expect((await get('memo-b')).status?.vms).toBe(4);
  }, 30_000);
});
