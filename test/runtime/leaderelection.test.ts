// Leader election and agent heartbeat against the real embedded API server (short durations).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient, LEASES } from '../../src/runtime/client';
import { FakeClock } from '../../src/runtime/clock';
import { LeaderElector } from '../../src/runtime/leaderelection';
import { renewalDelay, startHeartbeat } from '../../src/runtime/heartbeat';
import { isLeaseFresh, parseTime, type LeaseObject } from '../../src/runtime/leasetime';
import { ensureNamespace, startEnv, until, type TestEnv } from './fixtures';

let env: TestEnv;
beforeAll(async () => {
  env = await startEnv();
  await ensureNamespace(env.client, 'vmsafe-system');
});
afterAll(() => env?.close());

const TIMING = { leaseDurationMs: 1000, renewDeadlineMs: 700, retryPeriodMs: 200 };

function candidate(name: string, identity: string, client: KubeClient = env.client) {
  const state = { leading: false, started: 0, stopped: 0, stoppedAt: 0 };
  const el = new LeaderElector({
    client,
    namespace: 'vmsafe-system',
    name,
    identity,
    ...TIMING,
    onStartedLeading: () => {
      state.leading = true;
      state.started++;
    },
    onStoppedLeading: () => {
      state.leading = false;
      state.stopped++;
      state.stoppedAt = Date.now();
    },
  });
  const done = el.run();
  return { el, state, done };
}

describe('LeaderElector', () => {
  it('exactly one of two candidates leads; a crashed leader is replaced within the lease duration', async () => {
    const a = candidate('op-crash', 'a');
    const b = candidate('op-crash', 'b');
    await until(() => a.state.leading || b.state.leading, 3000, 'a leader');
    // Watch for both leading at once over several renew periods.
    let both = 0;
    const end = Date.now() + 1000;
    while (Date.now() < end) {
      if (a.el.isLeader() && b.el.isLeader()) both++;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(both).toBe(0);
    const [leader, standby] = a.el.isLeader() ? [a, b] : [b, a];
    expect(standby.el.isLeader()).toBe(false);
    expect(standby.el.getLeader()).toBe(leader === a ? 'a' : 'b');

    // Crash: renewals stop, nothing is released; the standby must wait out the lease, then take over.
    const t0 = Date.now();
    await leader.el.stop({ release: false });
    expect(leader.state.stopped).toBe(1);
    await until(() => standby.el.isLeader(), 3000, 'takeover');
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(TIMING.leaseDurationMs / 2); // it waited for the lease to run out
    expect(took).toBeLessThan(TIMING.leaseDurationMs + 3 * TIMING.retryPeriodMs + 700);
    const lease = await env.client.resource<LeaseObject>(LEASES).get('vmsafe-system/op-crash');
    expect(lease.spec?.holderIdentity).toBe(standby === a ? 'a' : 'b');
    expect(lease.spec?.leaseTransitions).toBe(1);
    await standby.el.stop();
  });

  it('a clean stop releases the lease so the standby takes over at once', async () => {
    const a = candidate('op-release', 'a');
    await until(() => a.state.leading, 3000);
    const b = candidate('op-release', 'b');
    await until(() => b.el.getLeader() === 'a', 3000); // b has observed a holding the lease
    expect(b.el.isLeader()).toBe(false);
    const t0 = Date.now();
    await a.el.stop();
    const lease = await env.client.resource<LeaseObject>(LEASES).get('vmsafe-system/op-release');
    expect(lease.spec?.holderIdentity === '' || lease.spec?.holderIdentity === 'b').toBe(true);
    await until(() => b.el.isLeader(), 3000);
    expect(Date.now() - t0).toBeLessThan(TIMING.leaseDurationMs); // no lease expiry wait
    await b.el.stop();
    await a.done;
    await b.done;
  });

  it('a leader whose renewals fail steps down within renewDeadline, before the lease can be taken', async () => {
    const own = new KubeClient({ yaml: env.server.kubeconfig() });
    const a = candidate('op-deadline', 'a', own);
    await until(() => a.state.leading, 3000);
    // Take the API away from this elector only: every request of its client now fails.
    own.request = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    await until(() => !a.state.leading, 3000, 'step down');
    expect(a.state.stopped).toBe(1);
    // Safety: it stopped acting before its last successful renewal could expire for anyone else.
    const lease = await env.client.resource<LeaseObject>(LEASES).get('vmsafe-system/op-deadline');
    const lastRenew = parseTime(lease.spec?.renewTime);
    expect(a.state.stoppedAt - lastRenew).toBeGreaterThanOrEqual(TIMING.renewDeadlineMs - 50);
    expect(a.state.stoppedAt - lastRenew).toBeLessThan(TIMING.leaseDurationMs);
    await a.done;
    own.close();
  });

  it('a leader whose renewals fail steps down at renewDeadline exactly, not up to a retry period later', async () => {
    // Deterministic (fake clock, in-memory lease). Timings client-go accepts, with renewDeadline +
    // retryPeriod >= leaseDuration: stepping down at the first retry tick past the deadline (1,000 ms
    // here) would overlap a standby taking the lease once it expires (renewTime + 1,000 ms).
    const clock = new FakeClock();
    let lease: LeaseObject | undefined;
    let rv = 0;
    let failing = false;
    const store = (o: LeaseObject) => (lease = { ...o, metadata: { ...o.metadata, resourceVersion: String(++rv) } });
    const unreachable = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    const rc = {
      tryGet: async () => (failing ? unreachable() : lease),
      create: async (o: LeaseObject) => (failing ? unreachable() : store(o)),
      replace: async (o: LeaseObject) => (failing ? unreachable() : store(o)),
    };
    const client = { resource: () => rc } as unknown as KubeClient;
    const state = { leading: false, stoppedAt: 0 };
    const el = new LeaderElector({
      client, clock, namespace: 'vmsafe-system', name: 'op-fake', identity: 'a', leaseDurationMs: 1000, renewDeadlineMs: 900, retryPeriodMs: 200,
      onStartedLeading: () => void (state.leading = true),
      onStoppedLeading: () => {
        state.leading = false;
        state.stoppedAt = clock.now();
      },
    });
    const done = el.run();
    await clock.advance(0);
    expect(state.leading).toBe(true);
    await clock.advance(200); // one successful renewal
    const lastRenew = parseTime(lease?.spec?.renewTime);
    expect(lastRenew).toBe(clock.now());
    failing = true;
    await clock.advance(3000);
    await done;
    expect(state.leading).toBe(false);
    expect(state.stoppedAt - lastRenew).toBe(900);
  });

  it('rejects inconsistent timings', () => {
    expect(() => new LeaderElector({
      client: env.client, namespace: 'x', name: 'y', identity: 'z', leaseDurationMs: 1000, renewDeadlineMs: 1000,
      onStartedLeading: () => {}, onStoppedLeading: () => {},
    })).toThrow(/leaseDuration/);
  });
});

describe('heartbeat', () => {
  it('renews at most one interval after the last renewal, at least 90 % of it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 120_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (interval, r) => {
        const d = renewalDelay(interval, () => r);
        return d <= interval && d >= interval * 0.9;
      }),
    );
    // Two agents started together and drawing different jitter are apart after one renewal.
    expect(renewalDelay(10_000, () => 0)).not.toBe(renewalDelay(10_000, () => 0.5));
  });

  it('creates and renews the host Lease; Ready follows renewTime + duration', async () => {
    const hb = startHeartbeat({ client: env.client, hostName: 'hb-h1', intervalMs: 100, leaseDurationSeconds: 2 });
    const rc = env.client.resource<LeaseObject>(LEASES);
    await until(async () => !!(await rc.tryGet('vmsafe-system/hb-h1')), 3000);
    const first = await rc.get('vmsafe-system/hb-h1');
    expect(first.spec?.holderIdentity).toBe('hb-h1');
    expect(isLeaseFresh(first, Date.now())).toBe(true);
    await until(async () => parseTime((await rc.get('vmsafe-system/hb-h1')).spec?.renewTime) > parseTime(first.spec?.renewTime), 3000, 'renewal');
    await hb.stop();
    const last = await rc.get('vmsafe-system/hb-h1');
    expect(isLeaseFresh(last, parseTime(last.spec?.renewTime) + 2001)).toBe(false);

    // An agent restart (new heartbeat on an existing lease) keeps working.
    const hb2 = startHeartbeat({ client: env.client, hostName: 'hb-h1', intervalMs: 100, leaseDurationSeconds: 2 });
    await hb2.beat();
    expect(hb2.lastSuccess()).toBeDefined();
    await hb2.stop();
  });
});
