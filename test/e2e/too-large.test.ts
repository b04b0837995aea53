// A filter that outgrows the API server's request limit is a reported state, never a silent stall
// (issue 11, Build 3): a tenant policy of 2 x 1,000 rules makes some hosts' filters too large to write.
// Those hosts keep (and enforce) their last filter and say FilterConverged=False reason=TooLarge; the
// policy says Realized=False reason=TooLarge naming them; every other policy stays Realized; whatever
// is reported realized is in the applied filters; removing the policy heals it all.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Host, HostFilter, SecurityPolicy } from '../../src/api';
import { REQUEST_LIMIT_BYTES } from '../../src/controllers/too-large';
import { MAX_OBJECT_BYTES } from '../../src/apiserver/api';
import { waitConverged } from '../../src/dev/converged';
import { applyManifests, REPO_ROOT, startDevStack, type DevStack } from '../../src/dev/stack';
import type { KubeObject } from '../../src/runtime/client';
import { silentLogger } from '../../src/util/log';
import { appliedRules as appliedRulesOf } from '../helpers/demo';
import { waitFor } from '../helpers/wait';

let stack: DevStack;
let home: string;

type Cond = { type: string; status: string; reason: string; message: string; observedGeneration?: number };
const cond = (o: { status?: { conditions?: Cond[] } } | undefined, t: string) => o?.status?.conditions?.find((c) => c.type === t);
const policies = () => stack.client.kind<SecurityPolicy & KubeObject>('SecurityPolicy');
const hosts = async () => (await stack.client.kind<Host & KubeObject>('Host').list()).items;
const filters = async () => (await stack.client.kind<HostFilter & KubeObject>('HostFilter').list()).items;
const BIG = 'acme/two-thousand-rules';

const appliedRules = (policy: string) => appliedRulesOf(stack, policy);

/** 1,000 rules per direction (the schema's maximum), each with a few peers and ports. */
function bigPolicy(): SecurityPolicy {
  const rules = (dir: string) =>
    Array.from({ length: 1000 }, (_, i) => ({
      name: `${dir}-${i}`,
      action: 'Deny' as const,
      peers: [0, 1, 2, 3, 4, 5].map((k) => ({ cidr: { cidr: `172.${16 + k}.${i % 256}.${Math.floor(i / 256)}/32` } })),
      ports: [0, 1, 2, 3, 4, 5].map((k) => ({ protocol: 'TCP' as const, port: 1000 + i * 6 + k })),
    }));
  return {
    apiVersion: 'vmsafe.io/v1alpha1',
    kind: 'SecurityPolicy',
    metadata: { name: BIG.split('/')[1]!, namespace: 'acme' },
    spec: { appliesTo: {}, ingress: rules('in'), egress: rules('out') },
  } as never;
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'vmsafe-toolarge-'));
  stack = await startDevStack({ logger: silentLogger, kubeconfigPath: join(home, 'kubeconfig'), heartbeatMs: 1000, leaseSeconds: 15 }); // long lease: a 1.5 MB compile and write block the shared event loop for a while
  await applyManifests(stack, [join(REPO_ROOT, 'examples')]);
  await waitFor('every policy realized', async () => {
    const all = (await policies().list()).items;
    return all.length > 0 && all.every((p) => cond(p, 'Realized')?.status === 'True');
  }, { timeoutMs: 60_000 });
  const c = await waitConverged(stack.client, 60_000, 100);
  if (!c.converged) throw new Error(`the examples did not converge: ${c.summary}`);
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('a filter over the request limit', () => {
  it('the operator assumes the API server limit', () => expect(REQUEST_LIMIT_BYTES).toBe(MAX_OBJECT_BYTES));

  it('is reported TooLarge on its hosts and its policy, keeps what was enforced, other policies stay realized, heals when removed', async () => {
    const others = (await policies().list()).items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
    const before = new Map((await filters()).map((f) => [f.metadata.name, f.spec.hash]));
    const rulesBefore = new Map<string, Map<string, number>>();
    for (const p of others) rulesBefore.set(p, await appliedRules(p));

    await policies().create(bigPolicy() as never);
    const big = await waitFor('the big policy reported TooLarge', async () => {
      const p = await policies().get(BIG);
      return cond(p, 'Realized')?.reason === 'TooLarge' ? p : false;
    }, { timeoutMs: 30_000, describe: async () => JSON.stringify((await policies().get(BIG)).status) });
    const tooLarge = await waitFor('hosts reported TooLarge', async () => {
      const hs = (await hosts()).filter((h) => cond(h, 'FilterConverged')?.reason === 'TooLarge');
      return hs.length > 0 ? hs : false;
    });
    const names = tooLarge.map((h) => h.metadata.name).sort();
    const realized = cond(big, 'Realized')!;
    expect(realized.status).toBe('False');
    for (const h of names) expect(realized.message).toContain(h);
    expect(realized.message).toMatch(/bytes, over the 1572864-byte request limit/);
    for (const h of tooLarge) {
      const c = cond(h, 'FilterConverged')!;
      expect(c.status).toBe('False');
      expect(c.message).toMatch(new RegExp(`^compiled filter \\S+ is \\d+ bytes, over the 1572864-byte request limit; not written: the host keeps filter ${before.get(h.metadata.name)}$`));
    }
    type Ev = { type: string; message: string; involvedObject: { name: string } };
    const ev = await waitFor('a FilterTooLarge Warning Event', async () => {
      const list = await stack.client.resource({ group: '', version: 'v1', plural: 'events', namespaced: true, kind: 'Event' }).list({ fieldSelector: 'reason=FilterTooLarge' });
      const items = list.items as unknown as Ev[];
      return items.length > 0 ? items : false;
    });
    expect(ev.every((e) => e.type === 'Warning' && names.includes(e.involvedObject.name))).toBe(true);

    // Whatever is reported is true: the too-large hosts kept their filter (and apply it); the hosts
    // counted realized hold all 2,000 rules in their applied filter.
    const now = new Map((await filters()).map((f) => [f.metadata.name, f]));
    for (const h of names) {
      expect(now.get(h)!.spec.hash).toBe(before.get(h));
      expect(now.get(h)!.status?.appliedHash).toBe(before.get(h));
    }
    const settled = await waitFor('the big policy realized everywhere it can be', async () => {
      const p = await policies().get(BIG);
      const applied = await appliedRules(BIG);
      const full = [...applied.values()].filter((n) => n === 2000).length;
      return p.status?.hosts && p.status.hosts.realized === full && p.status.hosts.desired === full + names.length ? p : false;
    });
    console.info(`too-large: ${names.length} host(s) TooLarge (${ev.map((e) => e.message.match(/is (\d+) bytes/)?.[1]).join(', ')} B), big policy realized on ${settled.status!.hosts!.realized} of ${settled.status!.hosts!.desired}`);
    // Every other policy stays realized and enforced as before on the too-large hosts.
    for (const p of others) {
      const cur = await policies().get(p);
      expect(cond(cur, 'Realized'), p).toMatchObject({ status: 'True', observedGeneration: cur.metadata.generation });
      const rules = await appliedRules(p);
      for (const h of names) expect(rules.get(h), `${p} on ${h}`).toBe(rulesBefore.get(p)!.get(h));
    }
    // The written object sizes stayed under the limit (nothing refused by the server was retried).
    const counters = stack.operator!.term()!.ctx.counters;
    expect(counters.largestObjectBytes).toBeLessThanOrEqual(REQUEST_LIMIT_BYTES);

    // Removed: the hosts converge again, nothing says TooLarge.
    await policies().delete(BIG);
    await waitFor('every host converged again', async () => (await hosts()).every((h) => cond(h, 'FilterConverged')?.status === 'True'));
    for (const p of others) await waitFor(`${p} realized`, async () => cond(await policies().get(p), 'Realized')?.status === 'True');
  }, 60_000);
});
