// A filter that outgrows the API server's request limit (issue 11, Build 3) is never a way for one
// tenant to stop another's changes, and never a silent stall:
// - a tenant policy of 2 x 1,000 rules that makes a host's filter too large is refused (Accepted=False
//   reason=TooLarge, naming the host and the sizes): it is compiled nowhere, the generation before
//   stays enforced (nothing, for a new policy), and another tenant's edit on that same host is
//   realized; an edit of an existing policy to that size keeps its generation before enforced;
// - growth that is no tenant's own (a provider Baseline policy of that size) leaves the hosts keeping
//   (and enforcing) their last filter, FilterConverged=False reason=TooLarge, the policy
//   Realized=False reason=TooLarge naming them, every other policy realized; removing it heals it all.
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
const BIG = 'vmsafe-system/two-thousand-rules';
const ACME_BIG = 'acme/two-thousand-rules';

const appliedRules = (policy: string) => appliedRulesOf(stack, policy);

/** 1,000 rules per direction (the schema's maximum), each with `k` peers and `k` ports. */
function bigRules(k = 6) {
  const rules = (dir: string) =>
    Array.from({ length: 1000 }, (_, i) => ({
      name: `${dir}-${i}`,
      action: 'Deny' as const,
      peers: Array.from({ length: k }, (_, j) => ({ cidr: { cidr: `172.${16 + j}.${i % 256}.${Math.floor(i / 256)}/32` } })),
      ports: Array.from({ length: k }, (_, j) => ({ protocol: 'TCP' as const, port: 1000 + i * k + j })),
    }));
  return { ingress: rules('in'), egress: rules('out') };
}

/** `key` ("namespace/name") with spec `spec`: a provider Baseline policy in vmsafe-system. */
function policy(key: string, spec: object): SecurityPolicy {
  const [namespace, name] = key.split('/') as [string, string];
  const tier = namespace === 'vmsafe-system' ? { tier: 'Baseline' } : {};
  return { apiVersion: 'vmsafe.io/v1alpha1', kind: 'SecurityPolicy', metadata: { name, namespace }, spec: { ...tier, appliesTo: {}, ...spec } } as never;
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

  it("a tenant's policy that makes a shared host's filter too large is refused; the other tenant's edit there is realized", async () => {
    // globex shares esx-gold-01 with acme (acme/db-1 is pinned there): a VM of its own pinned there and
    // a policy selecting it, edited while acme's oversized policy waits.
    const vms = stack.client.kind<KubeObject>('VM');
    await vms.create({
      apiVersion: 'vmsafe.io/v1alpha1', kind: 'VM', metadata: { name: 'shared-1', namespace: 'globex-prod' },
      spec: { hostName: 'esx-gold-01', tags: ['pci'], vnics: [{ name: 'eth0', network: 'globex-prod', ip: '10.20.0.99', mac: '00:50:56:14:00:63' }] },
    } as never);
    const GLOBEX = 'globex-prod/shared-allow';
    await policies().create(policy(GLOBEX, { ingress: [{ name: 'ssh', action: 'Allow', ports: [{ protocol: 'TCP', port: 22 }] }] }) as never);
    const realizedAt = (key: string, gen: number) =>
      waitFor(`${key} realized at generation ${gen}`, async () => {
        const p = await policies().get(key);
        const c = cond(p, 'Realized');
        return c?.status === 'True' && c.observedGeneration === gen && p.metadata.generation === gen ? p : false;
      }, { timeoutMs: 30_000, describe: async () => JSON.stringify((await policies().get(key)).status) });
    await realizedAt(GLOBEX, 1);
    expect((await appliedRules(GLOBEX)).get('esx-gold-01')).toBe(1);
    const before = new Map((await filters()).map((f) => [f.metadata.name, f.spec.hash]));

    // acme's 2,000 rules: refused, as a whole, naming the host and the sizes; nothing of it enforced.
    await policies().create(policy(ACME_BIG, bigRules()) as never);
    const refused = await waitFor('the acme policy refused', async () => {
      const p = await policies().get(ACME_BIG);
      return cond(p, 'Accepted')?.reason === 'TooLarge' ? p : false;
    }, { timeoutMs: 30_000, describe: async () => JSON.stringify((await policies().get(ACME_BIG)).status) });
    expect(cond(refused, 'Accepted')).toMatchObject({ status: 'False', observedGeneration: 1 });
    expect(cond(refused, 'Accepted')!.message).toMatch(
      /^generation 1 refused: spec: tenant acme's policies would make the filter of host esx-gold-0[12] \d+ bytes, over the 1572864-byte request limit; nothing of it is enforced$/,
    );
    expect(cond(refused, 'Realized')).toMatchObject({ status: 'False', reason: 'NotAccepted' });
    type Ev = { type: string; reason: string; message: string; involvedObject: { name: string; namespace?: string } };
    const events = async () => (await stack.client.resource({ group: '', version: 'v1', plural: 'events', namespaced: true, kind: 'Event' }).list({ namespace: 'acme', fieldSelector: 'reason=TooLarge' })).items as unknown as Ev[];
    await waitFor('a TooLarge Warning on the acme policy', async () => (await events()).some((e) => e.type === 'Warning' && e.involvedObject.name === 'two-thousand-rules'));

    // globex's edit is realized on the host it shares with acme, and every host converges: no host
    // is left holding an old filter for acme's sake.
    await policies().patch(GLOBEX, { spec: { ingress: [{ name: 'ssh', action: 'Allow', ports: [{ protocol: 'TCP', port: 22 }] }, { name: 'rdp', action: 'Allow', ports: [{ protocol: 'TCP', port: 3389 }] }] } }, 'merge');
    await realizedAt(GLOBEX, 2);
    expect((await appliedRules(GLOBEX)).get('esx-gold-01')).toBe(2);
    const hs = await waitFor('every host converged', async () => {
      const all = await hosts();
      return all.every((h) => cond(h, 'FilterConverged')?.status === 'True') ? all : false;
    });
    expect(hs.some((h) => cond(h, 'FilterConverged')?.reason === 'TooLarge')).toBe(false);
    expect([...(await appliedRules(ACME_BIG)).values()].every((n) => n === 0)).toBe(true);
    expect((await filters()).find((f) => f.metadata.name === 'esx-gold-01')!.spec.hash).not.toBe(before.get('esx-gold-01'));

    // An edit of an existing acme policy to the same size, selecting every acme VM: refused, its
    // generation before stays enforced.
    const EDITED = 'acme/db-from-app';
    const rulesBefore = await appliedRules(EDITED);
    const gen = (await policies().get(EDITED)).metadata.generation!;
    const original = (await policies().get(EDITED)).spec;
    await policies().patch(EDITED, { spec: { appliesTo: { tags: null }, ...bigRules() } }, 'merge');
    const editRefused = await waitFor('the edit refused', async () => {
      const p = await policies().get(EDITED);
      const c = cond(p, 'Accepted');
      return c?.reason === 'TooLarge' && c.observedGeneration === gen + 1 ? c : false;
    }, { timeoutMs: 30_000, describe: async () => JSON.stringify([(await policies().get(EDITED)).status, (await hosts()).map((h) => [h.metadata.name, cond(h, 'FilterConverged')?.message])]) });
    expect(editRefused.message).toMatch(new RegExp(`^generation ${gen + 1} refused: .*; generation ${gen} stays enforced$`));
    await waitFor('the edited policy enforced as before', async () => JSON.stringify([...(await appliedRules(EDITED))].sort()) === JSON.stringify([...rulesBefore].sort()), {
      describe: async () => JSON.stringify([[...rulesBefore], [...(await appliedRules(EDITED))], (await filters()).map((f) => [f.metadata.name, f.spec.hash, f.status]), (await hosts()).map((h) => h.status), (await policies().get(EDITED)).status?.conditions]),
    });
    // Shrunk again: accepted and realized.
    await policies().patch(EDITED, { spec: { ...original, egress: original.egress ?? null } }, 'merge');
    await realizedAt(EDITED, gen + 2);
    expect(cond(await policies().get(EDITED), 'Accepted')).toMatchObject({ status: 'True', reason: 'Accepted' });

    await policies().delete(ACME_BIG);
    await policies().delete(GLOBEX);
    await vms.delete('globex-prod/shared-1');
    await waitFor('every host converged again', async () => (await hosts()).every((h) => cond(h, 'FilterConverged')?.status === 'True'));
  }, 90_000);

  it('a provider policy that makes filters too large: reported TooLarge on its hosts and itself, keeps what was enforced, other policies stay realized, heals when removed', async () => {
    const others = (await policies().list()).items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
    const before = new Map((await filters()).map((f) => [f.metadata.name, f.spec.hash]));
    const rulesBefore = new Map<string, Map<string, number>>();
    for (const p of others) rulesBefore.set(p, await appliedRules(p));

    await policies().create(policy(BIG, bigRules()) as never);
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
