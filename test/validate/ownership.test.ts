// `vmsafe validate` on address ownership (issue 12): overlapping blocks, a vNIC outside its
// tenant's blocks (address theft), one IP on two vNICs across networks, a tenant without blocks.
import { describe, expect, it } from 'vitest';
import { parseManifests } from '../../src/manifests/load';
import { formatFinding, validateObjects } from '../../src/validate';

const tenant = (name: string, blocks?: string) =>
  `apiVersion: vmsafe.io/v1alpha1\nkind: Tenant\nmetadata: {name: ${name}}\nspec:\n  placementTags: []\n${blocks ? `  addressBlocks: [${blocks}]\n` : ''}---\n`;
const vm = (ns: string, name: string, nics: string) =>
  `apiVersion: vmsafe.io/v1alpha1\nkind: VM\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n  vnics:\n${nics}---\n`;
const nic = (name: string, network: string, ip: string, mac: string) => `    - {name: ${name}, network: ${network}, ip: ${ip}, mac: "${mac}"}\n`;
const HOST = 'apiVersion: vmsafe.io/v1alpha1\nkind: Host\nmetadata: {name: h1}\nspec:\n  networks: [{name: lan}, {name: mgmt}]\n---\n';

const findings = (text: string) =>
  validateObjects(parseManifests(text, 'w.yaml').objects).map(formatFinding);

describe('validate: address ownership', () => {
  const base = HOST + tenant('acme', '10.10.0.0/16') + tenant('initech', '10.30.0.0/16') + vm('acme', 'web-1', nic('eth0', 'lan', '10.10.0.11', '00:00:00:00:00:01'));

  it('is silent on owned, unique addresses', () => {
    expect(findings(base)).toEqual([]);
  });

  it('reports address theft on the thief, naming its tenant and blocks', () => {
    expect(findings(base + vm('initech', 'thief', nic('eth0', 'lan', '10.10.0.11', '00:00:00:00:00:02')))).toEqual([
      'w.yaml:33 VM initech/thief spec.vnics[0].ip: IP 10.10.0.11 is already used on network "lan" by acme/web-1 (eth0)',
      'w.yaml:33 VM initech/thief spec.vnics[0].ip: AddressNotOwned: 10.10.0.11 is outside Tenant "initech"\'s addressBlocks (10.30.0.0/16)',
    ]);
  });

  it('reports one IP on two vNICs on different networks (same network: the duplicate-IP error, once)', () => {
    const two = base + vm('acme', 'web-2', nic('eth0', 'mgmt', '10.10.0.11', '00:00:00:00:00:02'));
    expect(findings(two)).toEqual(['w.yaml:33 VM acme/web-2 spec.vnics[0].ip: AddressConflict: 10.10.0.11 is already bound by acme/web-1 (eth0)']);
    const same = base + vm('acme', 'web-2', nic('eth0', 'lan', '10.10.0.11', '00:00:00:00:00:02'));
    expect(findings(same)).toEqual(['w.yaml:33 VM acme/web-2 spec.vnics[0].ip: IP 10.10.0.11 is already used on network "lan" by acme/web-1 (eth0)']);
  });

  it('reports overlapping blocks between tenants on the later claimant', () => {
    expect(findings(base + tenant('hooli', '10.30.128.0/20, 192.168.0.0/24'))).toEqual([
      'w.yaml:19 Tenant initech spec.addressBlocks[0]: 10.30.0.0/16 overlaps 10.30.128.0/20 of Tenant "hooli"',
    ]);
  });

  it('warns about a tenant without blocks once blocks are in use; its vNICs may not use owned addresses', () => {
    const legacy = base + tenant('legacy') + vm('legacy', 'old', nic('eth0', 'lan', '10.10.0.12', '00:00:00:00:00:03'));
    expect(findings(legacy)).toEqual([
      "w.yaml:31 Tenant legacy spec: warning: no addressBlocks: its vNICs may use only addresses outside every other tenant's blocks",
      'w.yaml:39 VM legacy/old spec.vnics[0].ip: AddressNotOwned: 10.10.0.12 is inside Tenant "acme"\'s addressBlock 10.10.0.0/16',
    ]);
  });
});
