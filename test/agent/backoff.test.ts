// The agent backs off on failed applies: with applyFailureRate 1 for 30 s (a fake clock, so the test
// takes seconds), the echo of its own status write must not trigger a re-apply, and it writes status
// at most once per attempt (issue 11 target: under 20 writes in 30 s).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostFilter } from '../../src/api';
import { HostAgent } from '../../src/agent/agent';
import { NO_FAULTS } from '../../src/agent/faults';
import { FakeClock, flushMicrotasks } from '../../src/runtime/clock';
import { silentLogger } from '../../src/util/log';
import { waitFor } from '../helpers/wait';
import { ensureNamespace, startEnv, type TestEnv } from '../runtime/fixtures';

let env: TestEnv;
beforeAll(async () => {
  env = await startEnv();
  await ensureNamespace(env.client, 'vmsafe-system');
});
afterAll(() => env?.close());

const filter = (name: string): HostFilter => ({
  apiVersion: 'vmsafe.io/v1alpha1',
  kind: 'HostFilter',
  metadata: { name },
  spec: {
    hostName: name,
    hash: 'h-1',
    addressGroups: [],
    programs: [{ id: 'p-1', egress: [{ tier: 'Default', rule: 'default-deny', action: 'Deny', peers: [], ports: [] }], ingress: [] }],
    bindings: [{ vm: 'acme/web-1', vnic: 'eth0', ip: '10.0.0.1', mac: 'aa:bb:cc:00:00:01', program: 'p-1' }],
  },
});

describe('HostAgent retries', () => {
  it('backs off exponentially on failed applies: status written once per attempt, never on its own echo', async () => {
    const name = 'bk-h1';
    await env.client.kind('HostFilter').create(filter(name) as never);
    const clock = new FakeClock();
    const agent = new HostAgent({
      client: env.client, host: name, logger: silentLogger, clock,
      faults: { ...NO_FAULTS, applyFailureRate: 1 }, auditMs: 3_600_000, heartbeatMs: 3_600_000, leaseDurationSeconds: 3600,
    });
    const internals = agent as unknown as { work: Promise<void>; informer: { get(k: string): HostFilter | undefined } };
    /** The agent is idle and its cache holds the echo of its last write (so an echo-driven apply would show). */
    const settled = async () => {
      await internals.work;
      await flushMicrotasks();
      const hf = internals.informer.get(name);
      return hf?.status?.counters?.applyFailures === agent.stats.applies && agent.stats.applies > 0;
    };
    agent.start();
    await waitFor('the first failed apply reported', settled, { intervalMs: 5 });
    for (let t = 0; t < 30_000; t += 250) {
      await clock.advance(250);
      await waitFor('the agent idle with its echo seen', settled, { intervalMs: 5 });
    }
    await agent.stop();
    const hf = await env.client.kind<HostFilter & { metadata: { name: string } }>('HostFilter').get(name);
    // 100 ms doubling to 5 s: attempts at 0, 0.1, 0.3, 0.7, 1.5, 3.1, 6.3, 11.3, 16.3, 21.3, 26.3 s.
    expect(agent.stats.applies).toBeGreaterThanOrEqual(8);
    expect(agent.stats.applies).toBeLessThanOrEqual(12);
    expect(agent.stats.statusWrites).toBeLessThanOrEqual(agent.stats.applies + 1); // + the boot announcement
    expect(agent.stats.statusWrites).toBeLessThan(20);
    expect(hf.status?.conditions?.find((c) => c.type === 'Applied')).toMatchObject({ status: 'False' });
    expect(hf.status?.appliedHash).toBeUndefined();
    console.info(`agent backoff: applyFailureRate 1 for 30 s -> ${agent.stats.applies} applies, ${agent.stats.statusWrites} status writes`);
  }, 60_000);
});
