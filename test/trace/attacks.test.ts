// Issue 12's attacks on the examples, through `vmsafe trace`: address theft (an initech VM given
// acme's 10.10.0.11 plus an allow-all egress policy) is never bound, and a spoofed source is dropped.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/commands/trace';
import { capture } from '../helpers/capture';

let dir: string;
const THIEF = `apiVersion: vmsafe.io/v1alpha1
kind: VM
metadata: {name: thief, namespace: initech}
spec:
  vnics:
    - { name: eth0, network: initech-lan, ip: 10.10.0.11, mac: "00:50:56:1e:00:99" }
---
apiVersion: vmsafe.io/v1alpha1
kind: SecurityPolicy
metadata: {name: all-out, namespace: initech}
spec:
  egress:
    - { name: all, action: Allow }
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmsafe-attacks-'));
  writeFileSync(join(dir, 'thief.yaml'), THIEF);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const trace = (...args: string[]) => capture(() => run(['-f', 'examples/', '-f', join(dir, 'thief.yaml'), ...args]));

describe('issue 12 attacks, offline', () => {
  it('address theft: the thief is never bound, its packets to globex deny; acme/web-1 keeps its address', async () => {
    const r = await trace('--from', 'initech/thief', '--to', 'globex-prod/api-1', '--port', '443');
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      'Deny  initech/thief -> globex-prod/api-1  TCP/443\n' +
        '  egress  at initech/thief: Deny  by Default (unbound): never bound: AddressNotOwned: vNIC eth0: 10.10.0.11 is outside Tenant "initech"\'s addressBlocks (10.30.0.0/16)\n',
    );
    const back = await trace('--from', 'globex-prod/api-1', '--to', 'initech/thief', '--port', '22', '-o', 'json');
    expect(JSON.parse(back.out)).toEqual({ verdict: 'Deny', egress: null, ingress: { verdict: 'Deny', tier: 'Default', policy: null, rule: 'unbound' } });
    // The address still resolves to its owner: acme/web-1 talks to acme/app-1 as before.
    const owner = await trace('--from', '10.10.0.11', '--to', 'acme/app-1', '--port', '8080', '-o', 'json');
    expect(JSON.parse(owner.out).ingress.rule).toBe('api-from-web');
  });

  it('source spoofing: initech/intranet claiming 10.10.0.11 is dropped at its own host', async () => {
    const r = await trace('--from', 'initech/intranet', '--to', 'globex-prod/api-1', '--port', '443', '--src-ip', '10.10.0.11', '-o', 'json');
    expect(JSON.parse(r.out)).toEqual({ verdict: 'Deny', egress: { verdict: 'Deny', tier: 'Provider', policy: null, rule: 'spoofguard' }, ingress: null });
  });
});
