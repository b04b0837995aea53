// When `vmsafe dev --demo` says the demo has converged (a pure decision over VMs and Hosts).
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/dev/converged';

const vm = (phase?: string) => ({ status: phase ? { phase } : undefined });
const host = (converged?: 'True' | 'False') => ({ status: converged ? { conditions: [{ type: 'Ready', status: 'True' }, { type: 'FilterConverged', status: converged }] } : undefined });

describe('demo convergence', () => {
  it.each([
    ['all settled, all filters applied', [vm('Running'), vm('Off'), vm('Quarantined')], [host('True')], true, '3 VMs (1 Off, 1 Quarantined, 1 Running), 1/1 hosts with their filters applied'],
    ['a VM without status yet counts as Pending', [vm('Running'), vm()], [host('True')], false, '2 VMs (1 Pending, 1 Running), 1/1 hosts with their filters applied'],
    ['a VM still Scheduled', [vm('Scheduled')], [host('True')], false, '1 VMs (1 Scheduled), 1/1 hosts with their filters applied'],
    ['a VM Migrating', [vm('Migrating')], [host('True')], false, '1 VMs (1 Migrating), 1/1 hosts with their filters applied'],
    ['a host whose filter is not applied', [vm('Running')], [host('True'), host('False')], false, '1 VMs (1 Running), 1/2 hosts with their filters applied'],
    ['a host with no status', [vm('Running')], [host()], false, '1 VMs (1 Running), 0/1 hosts with their filters applied'],
    ['nothing applied yet', [], [], false, '0 VMs (), 0/0 hosts with their filters applied'],
  ])('%s', (_, vms, hosts, converged, summary) => {
    expect(decide(vms, hosts)).toEqual({ converged, summary });
  });
});
