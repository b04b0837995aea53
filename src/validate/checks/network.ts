// vNIC addressing and hosts: unique IPs and MACs per network, networks some host offers, pins to
// hosts that exist; warnings when placement (DESIGN.md) could not run a VM.
import type { Host, Tag, VM } from '../../api';
import { feasibility, hostState, vmNeeds, type Feasibility, type VmNeeds } from '../../placement';
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

export function checkHosts(model: Model): Finding[] {
  const out: Finding[] = [];
  const offered = new Set<string>();
  for (const h of model.hosts.values()) for (const n of h.value.spec.networks) offered.add(n.name);
  const hosts = [...model.hosts.values()];
  const tags = new Map([...model.tags].map(([name, t]) => [name, t.value]));
  // VMs with the same needs get the same answer: judge each kind of VM once, not each VM (40,000 x 512 hosts).
  const judged = new Map<string, string | null>();
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
    // An unknown tag is already an error; placement would treat it as Required and find no host.
    if (vm.spec.tags.some((t) => !model.tags.has(t))) broken = true;
    if (!broken) {
      const w = placementWarning(model, v, hosts, tags, judged);
      if (w) out.push(w);
    }
  }
  return out;
}

/**
 * Would placement (src/placement, DESIGN.md) ever run this VM? Judged statically: every host counted
 * Ready and empty, since readiness and allocation are runtime facts the manifests do not hold.
 */
function placementWarning(
  model: Model,
  v: Entry<VM>,
  hosts: Entry<Host>[],
  tags: ReadonlyMap<string, Tag>,
  judged: Map<string, string | null>,
): Finding | undefined {
  const vm = v.value;
  const tenant = model.tenants.get(model.tenantOfNamespace.get(vm.metadata.namespace!) ?? '')?.value;
  const needs = vmNeeds(vm, tenant, tags);
  const key = JSON.stringify([needs.required, needs.networks, needs.vnics, vm.spec.hostName ?? null]);
  let message = judged.get(key);
  if (message === undefined) judged.set(key, (message = placementMessage(model, needs, vm, hosts)));
  if (message === null) return undefined;
  return findingAt(v.src, vm.spec.hostName !== undefined ? ['spec', 'hostName'] : ['spec'], message, 'warning');
}

function placementMessage(model: Model, needs: VmNeeds, vm: VM, hosts: Entry<Host>[]): string | null {
  const judge = (h: Host, pinned: boolean) =>
    feasibility(needs, hostState(h, { ready: true, allocated: { vms: 0, vnics: 0 } }), { ignoreUnschedulable: pinned });
  const why = (f: Feasibility) => f.reasons.map((r) => r.message).join('; ');
  if (vm.spec.hostName !== undefined) {
    const f = judge(model.hosts.get(vm.spec.hostName)!.value, true);
    return f.feasible ? null : `pinned VM would be quarantined: ${why(f)}`;
  }
  if (hosts.length === 0) return null;
  const verdicts = hosts.map((h) => judge(h.value, false));
  if (verdicts.some((f) => f.feasible)) return null;
  const required = needs.required.length ? `tags ${needs.required.join(', ')}` : 'no tags';
  return `no Host can run this VM (needs ${required} and networks ${needs.networks.join(', ')}): ${verdicts.map(why).join('; ')}`;
}
