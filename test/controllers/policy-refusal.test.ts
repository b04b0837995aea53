// A policy generation refused for its size (CompileFeed.refusePolicies), against the real embedded API
// server: the compiler gets the generation before back (or drops a first generation), keeps it through
// a resync's re-feed, and takes the next generation in; a policy whose generation before is not known
// to this feed (edited before it started) is not refused. And the pure choice of the tenant refused
// (too-large.ts: tenantShares, sizeCulprit).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostFilterSpec, SecurityPolicy } from '../../src/api';
import { CompileFeed, inputKey } from '../../src/controllers/compile-feed';
import { describeRefusal, sizeCulprit, tenantShares } from '../../src/controllers/too-large';
import { World } from '../../src/controllers/world';
import type { KubeObject } from '../../src/runtime/client';
import { silentLogger } from '../../src/util/log';
import { ensureNamespace, startEnv, until, type TestEnv } from '../runtime/fixtures';

let env: TestEnv;
beforeAll(async () => {
  env = await startEnv();
  await ensureNamespace(env.client, 'refuse');
  await env.client.kind('Tenant').create({ apiVersion: 'vmsafe.io/v1alpha1', kind: 'Tenant', metadata: { name: 'refuse' }, spec: {} } as never);
});
afterAll(() => env?.close());

const policies = () => env.client.kind<SecurityPolicy & KubeObject>('SecurityPolicy');
const policy = (name: string, ports: number[]) =>
  ({
    apiVersion: 'vmsafe.io/v1alpha1',
    kind: 'SecurityPolicy',
    metadata: { name, namespace: 'refuse' },
    spec: { ingress: [{ name: 'in', action: 'Allow', ports: ports.map((port) => ({ protocol: 'TCP', port })) }] },
  }) as never;
const setPorts = (name: string, ports: number[]) =>
  policies().patch(`refuse/${name}`, { spec: { ingress: [{ name: 'in', action: 'Allow', ports: ports.map((port) => ({ protocol: 'TCP', port })) }] } }, 'merge');

async function startFeed() {
  const world = new World(env.client, { logger: silentLogger });
  const feed = new CompileFeed(world, silentLogger, {});
  world.start();
  expect(await world.waitForSync(5000)).toBe(true);
  feed.start();
  feed.flush();
  return { world, feed, stop: async () => (feed.stop(), await world.stop()) };
}

const why = { host: 'h1', bytes: 2_000_000, limit: 1_572_864, tenant: 'refuse' };

describe('CompileFeed.refusePolicies', () => {
  it('gives the compiler the generation before, keeps it through a re-feed, and ends with the next generation', async () => {
    await policies().create(policy('edited', [80]));
    const { world, feed, stop } = await startFeed();
    try {
      const key = 'refuse/edited';
      const input = inputKey('SecurityPolicy', { namespace: 'refuse', name: 'edited' });
      const held = () => feed.compiler.inventory.policyObjects.get(key)?.metadata.generation;
      await setPorts('edited', [80, 443]);
      await until(() => feed.compiledAt(input, 2) !== undefined, 5000, 'generation 2 compiled');

      expect(feed.refusePolicies([key], why)).toEqual([key]);
      feed.flush();
      expect(held()).toBe(1);
      expect(feed.compiledAt(input, 2)).toBeUndefined();
      expect(feed.refusal(key)).toMatchObject({ generation: 2, enforced: 1, host: 'h1' });
      expect(describeRefusal(feed.refusal(key)!)).toBe(
        "generation 2 refused: spec: tenant refuse's policies would make the filter of host h1 2000000 bytes, over the 1572864-byte request limit; generation 1 stays enforced",
      );
      // Refused once: asking again changes nothing.
      expect(feed.refusePolicies([key], why)).toEqual([]);

      // The periodic resync re-feeds what differs from what the compiler holds: the refusal stands.
      feed.resyncChanged();
      feed.flush();
      expect(held()).toBe(1);

      // A status write (no new generation) keeps it refused; the next generation ends the refusal.
      await policies().patchStatus({ namespace: 'refuse', name: 'edited' }, { status: { vnics: 0 } }, 'merge');
      await until(() => world.policies.get(key)?.status?.vnics === 0, 5000, 'the status write seen');
      feed.flush();
      expect(held()).toBe(1);
      await setPorts('edited', [22]);
      await until(() => feed.compiledAt(input, 3) !== undefined, 5000, 'generation 3 compiled');
      expect(feed.refusal(key)).toBeUndefined();
      expect(held()).toBe(3);

      // Refused again, it falls back to generation 1 (the last one not refused), not to the refused 2.
      expect(feed.refusePolicies([key], why)).toEqual([key]);
      feed.flush();
      expect(held()).toBe(1);
      expect(feed.refusal(key)?.enforced).toBe(1);
    } finally {
      await stop();
    }
  });

  it('drops a refused first generation, and forgets the refusal when the policy is deleted', async () => {
    const { world, feed, stop } = await startFeed();
    try {
      const key = 'refuse/fresh';
      const input = inputKey('SecurityPolicy', { namespace: 'refuse', name: 'fresh' });
      await policies().create(policy('fresh', [8080]));
      await until(() => feed.compiledAt(input, 1) !== undefined, 5000, 'generation 1 compiled');
      expect(feed.refusePolicies([key], why)).toEqual([key]);
      feed.flush();
      expect(feed.compiler.inventory.policyObjects.has(key)).toBe(false);
      expect(feed.compiledAt(input, undefined)).toBeUndefined();
      expect(describeRefusal(feed.refusal(key)!)).toMatch(/; nothing of it is enforced$/);
      // Edited, still refused: it falls back to nothing again (not "unknown", which would leave the
      // host holding its filter for the tenant).
      await setPorts('fresh', [8080, 8081]);
      await until(() => feed.compiledAt(input, 2) !== undefined, 5000, 'generation 2 compiled');
      expect(feed.refusal(key)).toBeUndefined();
      expect(feed.refusePolicies([key], why)).toEqual([key]);
      feed.flush();
      expect(feed.compiler.inventory.policyObjects.has(key)).toBe(false);
      expect(feed.refusal(key)).toMatchObject({ generation: 2, enforced: undefined });
      await policies().delete(key);
      await until(() => world.policies.get(key) === undefined, 5000, 'the delete seen');
      expect(feed.refusal(key)).toBeUndefined();
    } finally {
      await stop();
    }
  });

  it('does not refuse an edit made before the feed started (its generation before is unknown)', async () => {
    await policies().create(policy('old-edit', [80]));
    await setPorts('old-edit', [81]);
    const { feed, stop } = await startFeed();
    try {
      expect(feed.compiler.inventory.policyObjects.get('refuse/old-edit')?.metadata.generation).toBe(2);
      expect(feed.refusePolicies(['refuse/old-edit'], why)).toEqual([]);
      expect(feed.refusal('refuse/old-edit')).toBeUndefined();
    } finally {
      await stop();
    }
  });
});

describe('the tenant refused for a filter too large', () => {
  const program = (id: string, rules: number) => ({ id, ingress: Array.from({ length: rules }, (_, i) => ({ policy: `p${i}` })), egress: [] });
  const spec = (bindings: Array<[vm: string, program: string]>, programs: Array<[string, number]>): HostFilterSpec =>
    ({
      hostName: 'h',
      hash: 'x',
      addressGroups: [],
      programs: programs.map(([id, n]) => program(id, n)),
      bindings: bindings.map(([vm, p]) => ({ vm, vnic: 'eth0', ip: '10.0.0.1', mac: '02:00:00:00:00:01', program: p })),
    }) as never;
  const tenantOf = (ns: string) => ({ a: 'acme', a2: 'acme', g: 'globex' })[ns];

  it('counts each tenant its bindings and each of its programs once', () => {
    const s = spec([['a/1', 'P'], ['a2/2', 'P'], ['g/1', 'Q'], ['x/1', 'Q']], [['P', 10], ['Q', 1]]);
    const shares = tenantShares(s, tenantOf);
    const bytes = (o: unknown) => JSON.stringify(o).length;
    expect(shares.get('acme')).toBe(bytes(s.programs[0]) + bytes(s.bindings[0]) + bytes(s.bindings[1]));
    expect(shares.get('globex')).toBe(bytes(s.programs[1]) + bytes(s.bindings[2]));
    expect([...shares.keys()].sort()).toEqual(['acme', 'globex']); // namespace x is no tenant's
  });

  it.each([
    ['the largest growth, over an equal share', { acme: 900, globex: 100 }, { acme: 100, globex: 50 }, 1000, 'acme'],
    ['no tenant grew (the growth is in provider programs or address groups): nobody', { acme: 450, globex: 450 }, { acme: 450, globex: 450 }, 1000, undefined],
    ['growth of a tenant within an equal share only: nobody', { acme: 600, globex: 450 }, { acme: 600, globex: 400 }, 1000, undefined],
    ['a tenant already holding most that did not grow: the grower, if over its share', { acme: 900, globex: 700 }, { acme: 900, globex: 100 }, 1000, 'globex'],
    ['the host full of one tenant, another growing within its share: nobody', { acme: 950, globex: 60 }, { acme: 950, globex: 40 }, 1000, undefined],
    ['only shrinking: nobody', { acme: 600, globex: 600 }, { acme: 700, globex: 700 }, 1000, undefined],
    ['a tenant new on the host counts its whole share as growth', { acme: 300, globex: 800 }, { acme: 300 }, 1000, 'globex'],
    ['equal growth: the first by name', { b: 800, a: 800 }, { b: 0, a: 0 }, 1000, 'a'],
    ['no tenant on the host', {}, { acme: 10 }, 1000, undefined],
    ['the only tenant on the host, under the limit by its own count (address groups are not in it)', { acme: 700 }, { acme: 200 }, 1000, 'acme'],
    ['the only tenant, not grown', { acme: 700 }, { acme: 700 }, 1000, undefined],
  ])('%s', (_what, compiled, written, limit, culprit) => {
    expect(sizeCulprit(new Map(Object.entries(compiled)), new Map(Object.entries(written)), limit)).toBe(culprit);
  });
});
