// Tag status counts follow every VM event path at once, with the periodic resync off (so nothing but
// the event mapping can repair a missed count): a VM created, its tags changed (old and new tags both
// recounted), deleted. (The stale count the resync used to repair: test/runtime/status-stale.test.ts.)
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Tag } from '../../src/api';
import { startOperator, type Operator } from '../../src/controllers/operator';
import { silentLogger } from '../../src/util/log';
import { startTestApiServer, type TestApiServer } from '../helpers/apiserver';
import { waitFor } from '../helpers/wait';

let api: TestApiServer;
let op: Operator;

const tagYaml = (name: string) => `apiVersion: vmsafe.io/v1alpha1\nkind: Tag\nmetadata: {name: ${name}}\nspec: {enforcement: Preferred}\n`;
const vmYaml = (name: string, tags: string[], ip: string) => `apiVersion: vmsafe.io/v1alpha1
kind: VM
metadata: {name: ${name}, namespace: acme}
spec:
  tags: [${tags.join(', ')}]
  powerState: "Off"
  vnics: [{name: eth0, network: prod, ip: ${ip}, mac: "00:50:56:00:00:${ip.split('.')[3]!.padStart(2, '0')}"}]
`;

async function vmCounts(): Promise<Record<string, number | undefined>> {
  const tags: Tag[] = JSON.parse(await api.ok(['get', 'tags', '-o', 'json'])).items;
  return Object.fromEntries(tags.map((t) => [t.metadata.name, t.status?.vms]));
}

/** Wait until the Tags' status vms counts are exactly `want`. */
async function expectCounts(what: string, want: Record<string, number>): Promise<void> {
  let last: Record<string, number | undefined> = {};
  await waitFor(what, async () => {
    last = await vmCounts();
    return Object.entries(want).every(([t, n]) => last[t] === n);
  }, { timeoutMs: 15_000, describe: () => JSON.stringify(last) });
}

beforeAll(async () => {
  api = await startTestApiServer();
  // resyncPeriodMs 0: no periodic resync, so a count is right only if the event path got it right.
  op = await startOperator({ kubeconfig: { file: api.kubeconfigPath }, logger: silentLogger, resyncPeriodMs: 0 });
  await api.ok(['apply', '-f', '-'], [tagYaml('web'), tagYaml('db'), tagYaml('app')].join('---\n'));
  await api.ok(['apply', '-f', '-'], 'apiVersion: vmsafe.io/v1alpha1\nkind: Tenant\nmetadata: {name: acme}\nspec: {}\n');
  await waitFor('namespace acme', async () => (await api.kubectl(['get', 'namespace', 'acme'])).code === 0);
}, 60_000);

afterAll(async () => {
  await op?.stop();
  await api?.close();
});

describe('Tag status vms count', () => {
  it('follows VM creation, tag changes, deletion and an invalid edit without a resync', async () => {
    await api.ok(['apply', '-f', '-'], [vmYaml('vm-1', ['web'], '10.0.0.1'), vmYaml('vm-2', ['web', 'db'], '10.0.0.2')].join('---\n'));
    await expectCounts('counts after create', { web: 2, db: 1, app: 0 });

    // Tags change: the tag a VM left and the one it joined are both recounted.
    await api.ok(['apply', '-f', '-'], vmYaml('vm-1', ['app'], '10.0.0.1'));
    await expectCounts('counts after a tag change', { web: 1, db: 1, app: 1 });

    // Only the order changes: nothing to recount, and nothing goes wrong.
    await api.ok(['apply', '-f', '-'], vmYaml('vm-2', ['db', 'web'], '10.0.0.2'));
    await expectCounts('counts after a reorder', { web: 1, db: 1, app: 1 });

    await api.ok(['delete', 'vm', '-n', 'acme', 'vm-2']);
    await expectCounts('counts after a delete', { web: 0, db: 0, app: 1 });

    await api.ok(['delete', 'vm', '-n', 'acme', 'vm-1']);
    await expectCounts('counts after the last delete', { web: 0, db: 0, app: 0 });
  }, 60_000);

});
