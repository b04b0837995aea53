// One host's HostFilter spec from the compiler's state: the bindings of the vNICs of the VMs that
// run there, the programs they use and the address groups those name, in a fixed order, with a
// content hash (the spec is written only when the hash changes).
import type { AddressGroup, HostFilterSpec, Program } from '../api';
import { contentId } from './addresses';
import type { ProgramEntry } from './compile-units';
import type { Inventory } from './inventory';

export function buildHostSpec(host: string, inv: Inventory, vmProgram: ReadonlyMap<string, ProgramEntry>): HostFilterSpec {
  const keys = [...inv.vmKeysOnHost(host)].sort();
  const bindings: HostFilterSpec['bindings'] = [];
  const programs = new Map<string, Program>();
  const groups = new Map<string, AddressGroup>();
  for (const key of keys) {
    const e = vmProgram.get(key);
    const vm = inv.vms.get(key);
    if (!e || !vm) continue;
    const id = e.program.id;
    if (!programs.has(id)) {
      programs.set(id, e.program);
      for (const g of e.groups) groups.set(g.id, g.group);
    }
    const nics = vm.vnics.length > 1 ? [...vm.vnics].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) : vm.vnics;
    for (const n of nics) bindings.push({ vm: key, vnic: n.name, ip: n.ip, mac: n.mac, program: id });
  }
  const programIds = [...programs.keys()].sort();
  const groupIds = [...groups.keys()].sort();
  // Programs and groups are content-addressed, so hashing their ids covers their content.
  const text: string[] = [host, programIds.join(','), groupIds.join(',')];
  for (const b of bindings) text.push(`${b.vm} ${b.vnic} ${b.ip} ${b.mac} ${b.program}`);
  return {
    hostName: host,
    programs: programIds.map((id) => programs.get(id)!),
    addressGroups: groupIds.map((id) => groups.get(id)!),
    bindings,
    hash: contentId('hf-', text.join('\n'), 24),
  };
}
