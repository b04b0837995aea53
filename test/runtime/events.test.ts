// EventRecorder aggregation timing with an injected clock and a recording stub for the writes
// (the real server path is covered in e2e.test.ts).
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/runtime/clock';
import { EventRecorder } from '../../src/runtime/events';
import type { KubeClient } from '../../src/runtime/client';

function stubClient() {
  const calls: Array<{ op: string; body: any }> = [];
  const rc = {
    create: async (body: any) => (calls.push({ op: 'create', body }), body),
    patch: async (_ref: unknown, body: any) => (calls.push({ op: 'patch', body }), body),
  };
  return { calls, client: { resource: () => rc } as unknown as KubeClient };
}

const obj = { apiVersion: 'vmsafe.io/v1alpha1', kind: 'VM', metadata: { name: 'web-1', namespace: 'acme', uid: 'u1' } };

describe('EventRecorder aggregation', () => {
  it('creates once, then patches the count at most once per interval', async () => {
    const clock = new FakeClock();
    const { calls, client } = stubClient();
    const rec = new EventRecorder({ client, component: 't', clock, minPatchIntervalMs: 60_000 });
    rec.warning(obj, 'Quarantined', 'host lacks tag gold');
    await rec.flush();
    expect(calls.map((c) => c.op)).toEqual(['create']);
    expect(calls[0]!.body).toMatchObject({ count: 1, reason: 'Quarantined', type: 'Warning', metadata: { namespace: 'acme' } });

    for (let i = 0; i < 10; i++) {
      await clock.advance(1000);
      rec.warning(obj, 'Quarantined', 'host lacks tag gold');
    }
    await rec.flush();
    expect(calls).toHaveLength(1); // repeats wait for the interval
    await clock.advance(50_000);
    await rec.flush();
    expect(calls.map((c) => c.op)).toEqual(['create', 'patch']);
    expect(calls[1]!.body.count).toBe(11);

    // A different message is a different Event.
    rec.warning(obj, 'Quarantined', 'host lacks tag pci');
    await rec.flush();
    expect(calls.filter((c) => c.op === 'create')).toHaveLength(2);

    // After the aggregation window a repeat starts a new Event.
    await clock.advance(11 * 60_000);
    rec.warning(obj, 'Quarantined', 'host lacks tag gold');
    await rec.flush();
    expect(calls.filter((c) => c.op === 'create')).toHaveLength(3);
    await rec.close();
  });

  it('cluster-scoped objects get their Events in the configured namespace', async () => {
    const { calls, client } = stubClient();
    const rec = new EventRecorder({ client, component: 't', clusterNamespace: 'vmsafe-system' });
    rec.normal({ kind: 'Host', metadata: { name: 'h1' } }, 'Ready', 'agent heartbeat');
    await rec.flush();
    expect(calls[0]!.body.metadata.namespace).toBe('vmsafe-system');
    expect(calls[0]!.body.involvedObject).toEqual({ kind: 'Host', name: 'h1' });
  });
});
