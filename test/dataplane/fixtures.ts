// Builders for HostFilter specs in dataplane tests.
import type { CompiledPeer, CompiledPort, CompiledRule, HostFilterSpec } from '../../src/api';
import type { Lookup } from '../../src/dataplane/types';

export function rule(name: string, over: Partial<CompiledRule> = {}): CompiledRule {
  return { tier: 'Tenant', policy: 'ns/pol', rule: name, action: 'Allow', peers: [], ports: [], ...over };
}
export const cidrPeer = (cidr: string, ...except: string[]): CompiledPeer => (except.length ? { cidr, except } : { cidr });
export const groupPeer = (group: string): CompiledPeer => ({ group });
export const tcp = (port?: number, endPort?: number): CompiledPort => ({
  protocol: 'TCP',
  ...(port !== undefined ? { port } : {}),
  ...(endPort !== undefined ? { endPort } : {}),
});

/** A one-program host with a single vNIC "ns/vm"/"eth0" bound to it. */
export function oneProgram(egress: CompiledRule[], ingress: CompiledRule[] = [], groups: Record<string, string[]> = {}): HostFilterSpec {
  return {
    hostName: 'h1',
    hash: 'x',
    programs: [{ id: 'p-1', egress, ingress }],
    addressGroups: Object.entries(groups).map(([id, addresses]) => ({ id, addresses })),
    bindings: [{ vm: 'ns/vm', vnic: 'eth0', ip: '10.0.0.1', mac: '02:00:00:00:00:01', program: 'p-1' }],
  };
}

export function egress(remoteIp: string, protocol: Lookup['protocol'] = 'TCP', port = 80): Lookup {
  return { vm: 'ns/vm', vnic: 'eth0', direction: 'egress', remoteIp, protocol, port };
}
