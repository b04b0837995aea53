// `vmsafe trace` end to end, in process: manifests on disk → verdict lines.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/commands/trace';
import { host, policy, providerPolicy, tenant, vm } from '../policy/builders';
import { capture } from '../helpers/capture';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmsafe-trace-'));
  const objects = [
    tenant('acme'),
    tenant('globex'),
    host('h1', ['gold']),
    host('h2'),
    vm('web').inTenant('acme').withTags('web').onHost('h1').withIps('10.0.0.1').build(),
    vm('db').inTenant('acme').withTags('db').onHost('h2').withIps('10.0.0.2', '10.0.1.2').build(),
    // No hostName: the scheduler places it.
    vm('api').inTenant('globex').withIps('10.1.0.1').build(),
    // Pinned to a host without the tag it requires (Tag "pci" is Required): quarantined there.
    vm('pci').inTenant('globex').withTags('pci').onHost('h2').withIps('10.1.0.9').build(),
    { apiVersion: 'vmsafe.io/v1alpha1', kind: 'Tag', metadata: { name: 'pci' }, spec: { enforcement: 'Required' } },
    // Tags without a Tag object count as Required for placement; these are labels for policy only.
    { apiVersion: 'vmsafe.io/v1alpha1', kind: 'Tag', metadata: { name: 'web' }, spec: { enforcement: 'Preferred' } },
    { apiVersion: 'vmsafe.io/v1alpha1', kind: 'Tag', metadata: { name: 'db' }, spec: { enforcement: 'Preferred' } },
    policy('acme', 'db', {
      appliesTo: { tags: ['db'] },
      ingress: [{ name: 'from-web', action: 'Allow', peers: [{ vms: { tags: ['web'] } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
    }),
    providerPolicy('no-telnet', { ingress: [{ name: 'telnet', action: 'Deny', ports: [{ protocol: 'TCP', port: 23 }] }] }),
  ];
  writeFileSync(join(dir, 'all.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  writeFileSync(
    join(dir, 'probes.jsonl'),
    [
      { from: 'acme/web', to: 'acme/db', protocol: 'TCP', port: 5432 },
      { from: 'acme/web', to: 'acme/db/eth1', protocol: 'TCP', port: 23 },
      { from: 'globex/api', to: 'acme/db', protocol: 'TCP', port: 5432 },
      { from: 'acme/nope', to: 'acme/db', protocol: 'TCP', port: 1 },
      { from: 'acme/web', to: '8.8.8.8', protocol: 'UDP', port: 53 },
    ]
      .map((p) => JSON.stringify(p))
      .join('\n') + '\n',
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const trace = (...args: string[]) => capture(() => run(['-f', dir, ...args]));

describe('vmsafe trace', () => {
  it('prints the verdict and the deciding rule on each side', async () => {
    const r = await trace('--from', 'acme/web', '--to', 'acme/db', '--protocol', 'TCP', '--port', '5432');
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      'Allow  acme/web -> acme/db  TCP/5432\n' +
        '  egress  at acme/web (host h1): Allow by Default (default-same-tenant)\n' +
        '  ingress at acme/db (host h2): Allow by Tenant policy acme/db rule from-web\n',
    );
  });

  it('-o json has the documented shape', async () => {
    const r = await trace('--from', 'acme/web', '--to', 'acme/db', '--protocol', 'TCP', '--port', '23', '-o', 'json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      verdict: 'Deny',
      egress: { verdict: 'Allow', tier: 'Default', policy: null, rule: 'default-same-tenant' },
      ingress: { verdict: 'Deny', tier: 'Provider', policy: 'vmsafe-system/no-telnet', rule: 'telnet' },
    });
  });

  it('places unpinned VMs and quarantines a pinned VM its host cannot take', async () => {
    const placed = await trace('--from', 'globex/api', '--to', 'acme/web', '--port', '80');
    expect(placed.code).toBe(0);
    expect(placed.out).toMatch(/egress {2}at globex\/api \(host h[12]\): Deny {2}by Default \(default-deny\)/);
    const q = await trace('--from', 'globex/pci', '--to', 'globex/api', '--port', '80', '-o', 'json');
    expect(JSON.parse(q.out).egress).toEqual({ verdict: 'Deny', tier: 'Provider', policy: null, rule: 'quarantine' });
  });

  it('an address side is not filtered (null in JSON)', async () => {
    const r = await trace('--from', '192.168.1.1', '--to', 'acme/web', '--protocol', 'ICMP', '-o', 'json');
    expect(JSON.parse(r.out)).toEqual({
      verdict: 'Deny',
      egress: null,
      ingress: { verdict: 'Deny', tier: 'Default', policy: null, rule: 'default-deny' },
    });
  });

  it('--probes answers one JSON line per probe, in order, with errors in place', async () => {
    const r = await trace('--probes', join(dir, 'probes.jsonl'));
    const lines = r.out.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.verdict ?? 'error')).toEqual(['Allow', 'Deny', 'Deny', 'error', 'Deny']);
    expect(lines[2].ingress).toEqual({ verdict: 'Deny', tier: 'Tenant', policy: null, rule: 'tenant-isolation' });
    expect(lines[3]).toEqual({ error: 'no VM acme/nope' });
    expect(lines[4]).toEqual({ verdict: 'Deny', egress: { verdict: 'Deny', tier: 'Default', policy: null, rule: 'default-deny' }, ingress: null });
    expect(r.code).toBe(1);
  });

  it('--src-ip / --src-mac probe the spoof guard: another source is dropped at the sender (issue 12 attack 3)', async () => {
    // acme/web (10.0.0.1) forging globex/api's address: dropped before any rule, never reaches acme/db.
    const r = await trace('--from', 'acme/web', '--to', 'acme/db', '--port', '5432', '--src-ip', '10.1.0.1');
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      'Deny  acme/web -> acme/db  TCP/5432\n' +
        '  egress  at acme/web (host h1): Deny  by Provider (spoofguard)\n' +
        "  ingress acme/db not reached: source 10.1.0.1 is not acme/web's own\n",
    );
    const json = await trace('--from', 'acme/web', '--to', 'acme/db', '--port', '5432', '--src-mac', '02:aa:bb:cc:dd:ee', '-o', 'json');
    expect(JSON.parse(json.out)).toEqual({ verdict: 'Deny', egress: { verdict: 'Deny', tier: 'Provider', policy: null, rule: 'spoofguard' }, ingress: null });
    // Its own address is no spoof: the rules decide as without the flag.
    const own = await trace('--from', 'acme/web', '--to', 'acme/db', '--port', '5432', '--src-ip', '10.0.0.1', '-o', 'json');
    expect(JSON.parse(own.out).verdict).toBe('Allow');
  });

  it('rejects a malformed or misplaced --src-ip / --src-mac with exit 2 naming the flag', async () => {
    const badIp = await trace('--from', 'acme/web', '--to', 'acme/db', '--port', '1', '--src-ip', '10.0.0');
    expect([badIp.code, badIp.err.split('\n')[0]]).toEqual([2, 'vmsafe trace: src-ip must be an IPv4 address, got "10.0.0" (see vmsafe trace --help)']);
    const badMac = await trace('--from', 'acme/web', '--to', 'acme/db', '--port', '1', '--src-mac', 'zz');
    expect([badMac.code, badMac.err.split('\n')[0]]).toEqual([2, 'vmsafe trace: src-mac must be a MAC address (aa:bb:cc:dd:ee:ff), got "zz" (see vmsafe trace --help)']);
    const fromIp = await trace('--from', '8.8.8.8', '--to', 'acme/db', '--port', '1', '--src-ip', '10.0.0.1');
    expect([fromIp.code, fromIp.err.split('\n')[0]]).toEqual([2, 'vmsafe trace: src-ip/src-mac need a VM source (--from NS/VM[/VNIC]) (see vmsafe trace --help)']);
  });

  it('rejects bad usage with exit 2 and bad references with exit 1', async () => {
    expect((await trace('--from', 'acme/web')).code).toBe(2);
    expect((await trace('--from', 'acme/web', '--to', 'acme/db', '--protocol', 'XYZ', '--port', '1')).code).toBe(2);
    expect((await trace('--from', 'acme/web', '--to', 'acme/db', '--port', '99999')).code).toBe(2);
    const r = await trace('--from', 'acme/web', '--to', 'acme/ghost', '--port', '1');
    expect(r.code).toBe(1);
    expect(r.err).toContain('no VM acme/ghost');
  });
});
