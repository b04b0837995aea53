// Staged policies end to end on `vmsafe dev`'s stack (issue 15): a staged policy's status reports what
// enforcing it would change (the same analysis as `vmsafe diff`), while every host keeps the filter it
// had; promoting it (enforcement: Enforced) compiles it, the agents apply it, and Realized follows.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostFilter, SecurityPolicy } from '../../src/api';
import type { DevStack } from '../../src/dev/stack';
import type { KubeObject } from '../../src/runtime/client';
import { startDemo, type Demo } from '../helpers/demo';
import { waitFor } from '../helpers/wait';

let stack: DevStack;
let k: Demo['k'];
let home: string;
let converged: Demo['converged'];
let demo: Demo;

type Cond = { type: string; status: string; reason: string; message: string; observedGeneration?: number };
const cond = (o: { status?: { conditions?: Cond[] } } | undefined, t: string) => o?.status?.conditions?.find((c) => c.type === t);
const policies = () => stack.client.kind<SecurityPolicy & KubeObject>('SecurityPolicy');
const filters = async () => (await stack.client.kind<HostFilter & KubeObject>('HostFilter').list()).items;
/** What every host enforces: the filter hash its agent applied, and the rules of `policy` in it. */
async function enforced(policy: string): Promise<{ applied: Record<string, string | undefined>; rules: number }> {
  const applied: Record<string, string | undefined> = {};
  let rules = 0;
  for (const f of await filters()) {
    applied[f.metadata.name] = f.status?.appliedHash;
    if (f.status?.appliedHash !== f.spec.hash) continue;
    for (const p of f.spec.programs) for (const r of [...p.ingress, ...p.egress]) if (r.policy === policy) rules++;
  }
  return { applied, rules };
}

const STAGED = `apiVersion: vmsafe.io/v1alpha1
kind: SecurityPolicy
metadata:
  name: ssh-from-internet
  namespace: acme
spec:
  enforcement: Staged
  appliesTo:
    tags: [web]
  ingress:
    - name: ssh
      action: Allow
      peers:
        - cidr: { cidr: 0.0.0.0/0 }
      ports:
        - { protocol: TCP, port: 22 }
`;

beforeAll(async () => {
  demo = await startDemo('staged');
  ({ stack, k, home, converged } = demo);
}, 90_000);

afterAll(async () => {
  await demo?.stop();
});

describe('a staged policy', () => {
  it('reports what enforcing it would open, enforces nothing until promoted, then is realized', async () => {
    const ref = 'acme/ssh-from-internet';
    await waitFor('the demo datacenter to converge', () => converged());
    const before = await enforced(ref);
    const file = join(home, 'staged.yaml');
    writeFileSync(file, STAGED);
    await k.kubectl(['apply', '-f', file]);

    const staged = await waitFor('the staged impact reported', async () => {
      const p = await policies().get(ref);
      return p.status?.impact?.observedGeneration === p.metadata.generation && cond(p, 'Realized')?.observedGeneration === p.metadata.generation ? p : false;
    });
    expect(cond(staged, 'Accepted')).toMatchObject({ status: 'True' });
    expect(cond(staged, 'Realized')).toMatchObject({ status: 'False', reason: 'Staged' });
    expect(cond(staged, 'Realized')!.message).toContain('would open 0 tenant pair(s) and 1 from outside addresses');
    expect(staged.status?.impact?.opened).toEqual([{ from: 'outside', to: 'acme', ports: 'TCP/22' }]);
    expect(staged.status?.impact?.closed).toBeUndefined();
    expect(staged.status?.impact?.vnics).toBeGreaterThan(0);
    expect(staged.status?.impact?.hostsChanged).toBeGreaterThan(0);
    expect(staged.status?.hosts).toEqual({ desired: 0, realized: 0 });
    expect(staged.status?.warnings ?? []).not.toContain('spec.appliesTo: the policy selects no VM');
    // kubectl shows the same status a person reads.
    const viaKubectl = await k.json(['get', 'securitypolicy', '-n', 'acme', 'ssh-from-internet']);
    expect(viaKubectl.status.impact.summary).toBe(staged.status!.impact!.summary);
    // Nothing of it is enforced: every host holds exactly the filter it held before.
    await waitFor('the demo datacenter to converge', () => converged());
    expect(await enforced(ref)).toEqual(before);
    expect(before.rules).toBe(0);

    // Promote: one field.
    await k.kubectl(['patch', 'securitypolicy', '-n', 'acme', 'ssh-from-internet', '--type=merge', '-p', '{"spec":{"enforcement":"Enforced"}}']);
    const promoted = await waitFor('realized after promotion', async () => {
      const p = await policies().get(ref);
      const r = cond(p, 'Realized');
      return r?.status === 'True' && r.observedGeneration === p.metadata.generation ? p : false;
    });
    expect(promoted.metadata.generation).toBe(staged.metadata.generation! + 1);
    expect(promoted.status?.impact).toBeUndefined();
    expect(promoted.status?.vnics).toBe(staged.status!.impact!.vnics);
    const after = await enforced(ref);
    expect(after.rules).toBeGreaterThan(0);
    expect(Object.keys(after.applied).filter((h) => after.applied[h] !== before.applied[h]).length).toBe(staged.status!.impact!.hostsChanged);
  });
});
