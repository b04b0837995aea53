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

describe('StatusWriter from a stale cached object', () => {
  it('a status that goes back to the cached value before the echo arrives is written (no stale count)', async () => {
    await api.ok(['apply', '-f', '-'], 'apiVersion: vmsafe.io/v1alpha1\nkind: Tag\nmetadata: {name: flip}\nspec: {}\n');
    const writer = new StatusWriter(new KubeClient({ file: api.kubeconfigPath }));
    const get = async (): Promise<Tag> => JSON.parse(await api.ok(['get', 'tag', 'flip', '-o', 'json']));
    const status = (vms: number) => ({ hosts: 0, vms, networks: 0 });
    // The cache holds the object with vms 1.
    await writer.update('Tag', await get(), status(1));
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
