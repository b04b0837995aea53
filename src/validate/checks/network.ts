// vNIC addressing and hosts: unique IPs and MACs per network, networks some host offers, pins to
// hosts that exist; warnings when placement (DESIGN.md) could not run a VM.
import type { Host, VM } from '../../api';
import { findingAt, type Finding } from '../finding';
import type { Entry, Model } from '../model';

const who = (v: VM, nic: string) => `${v.metadata.namespace}/${v.metadata.name} (${nic})`;

export function checkAddresses(model: Model): Finding[] {
  const out: Finding[] = [];
  const ips = new Map<string, string>();
  const macs = new Map<string, string>();
  for (const v of model.vms) {
    v.value.spec.vnics.forEach((nic, i) => {
      const ipKey = `${nic.network}\u0000${nic.ip}`;
      const macKey = `${nic.network}\u0000${nic.mac.toLowerCase()}`;
      const ipOwner = ips.get(ipKey);
      if (ipOwner) out.push(findingAt(v.src, ['spec', 'vnics', i, 'ip'], `IP ${nic.ip} is already used on network "${nic.network}" by ${ipOwner}`));
      else ips.set(ipKey, who(v.value, nic.name));
      const macOwner = macs.get(macKey);
      if (macOwner) out.push(findingAt(v.src, ['spec', 'vnics', i, 'mac'], `MAC ${nic.mac} is already used on network "${nic.network}" by ${macOwner}`));
      else macs.set(macKey, who(v.value, nic.name));
    });
  }
  return out;
}

/** The tags placement requires of a VM's host and networks (DESIGN.md, Placement). */
export function requiredTags(model: Model, v: VM): string[] {
  const tenant = model.tenants.get(model.tenantOfNamespace.get(v.metadata.namespace!) ?? '');
  const own = v.spec.tags.filter((t) => model.tags.get(t)?.value.spec.enforcement === 'Required');
  return [...new Set([...(tenant?.value.spec.placementTags ?? []), ...own])];
}

/** Why `host` cannot run `vm`, or undefined when it can (static checks only: not readiness or capacity). */
export function infeasibility(host: Host, vm: VM, required: string[]): string | undefined {
  const missingTag = required.find((t) => !host.spec.tags.includes(t));
  if (missingTag) return `host "${host.metadata.name}" does not carry required tag "${missingTag}"`;
  for (const nic of vm.spec.vnics) {
    const net = host.spec.networks.find((n) => n.name === nic.network);
    if (!net) return `host "${host.metadata.name}" does not offer network "${nic.network}"`;
    const missing = required.find((t) => !net.tags.includes(t));
    if (missing) return `network "${nic.network}" on host "${host.metadata.name}" does not carry required tag "${missing}"`;
  }
  return undefined;
}

export function checkHosts(model: Model): Finding[] {
  const out: Finding[] = [];
  const offered = new Set<string>();
  for (const h of model.hosts.values()) for (const n of h.value.spec.networks) offered.add(n.name);
  const hosts = [...model.hosts.values()];
  for (const v of model.vms) {
    const vm = v.value;
    let broken = false;
    vm.spec.vnics.forEach((nic, i) => {
      if (!offered.has(nic.network)) {
        out.push(findingAt(v.src, ['spec', 'vnics', i, 'network'], `no Host offers network "${nic.network}"`));
        broken = true;
      }
    });
    if (vm.spec.hostName !== undefined && !model.hosts.has(vm.spec.hostName)) {
      out.push(findingAt(v.src, ['spec', 'hostName'], `unknown Host "${vm.spec.hostName}"`));
      broken = true;
    }
    if (!broken) out.push(...placementWarnings(model, v, hosts));
  }
  return out;
}

function placementWarnings(model: Model, v: Entry<VM>, hosts: Entry<Host>[]): Finding[] {
  const vm = v.value;
  const required = requiredTags(model, vm);
  if (vm.spec.hostName !== undefined) {
    const why = infeasibility(model.hosts.get(vm.spec.hostName)!.value, vm, required);
    return why ? [findingAt(v.src, ['spec', 'hostName'], `pinned VM would be quarantined: ${why}`, 'warning')] : [];
  }
  if (hosts.length === 0) return [];
  const reasons = hosts.map((h) => infeasibility(h.value, vm, required));
  if (reasons.some((r) => r === undefined)) return [];
  const tags = required.length ? `tags ${required.join(', ')}` : 'no tags';
  return [findingAt(v.src, ['spec'], `no Host can run this VM (needs ${tags} and networks ${vm.spec.vnics.map((n) => n.network).join(', ')}); e.g. ${reasons[0]}`, 'warning')];
}
