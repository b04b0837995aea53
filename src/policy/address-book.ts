// Address ownership kept current one change at a time, for the operator's compiler inventory: the
// same rules and messages as addressOwnership() (ownership.ts), which it is property-tested against,
// without re-judging 70,000 vNICs on every VM or Tenant change.
//
// State: each tenant's blocks; each VM's tenant and vNICs; for every address, the vNICs that may
// claim it by the block rules (sorted by VM creation, then VM key, then vNIC order: the first holds
// it). A change re-judges only the VMs it can affect: the VM itself and the other claimants of its
// addresses; for a tenant's blocks, that tenant's VMs and the VMs of tenants without blocks.
import { parseCidr } from '../dataplane/ip';
import {
  blockRefusal,
  byCreation,
  conflictMessage,
  type AddressReason,
  type AddressRefusal,
  type Block,
} from './ownership';

type Meta = { name: string; namespace?: string; creationTimestamp?: string };

interface VmEntry {
  key: string;
  meta: { metadata: Meta };
  tenant: string | null;
  vnics: readonly { name: string; ip: string }[];
  /** Per vNIC: why the block rules refuse it, or null. */
  notOwned: (string | null)[];
  refusal: AddressRefusal | undefined;
}

interface Claim {
  vm: VmEntry;
  index: number;
}

const claimOrder = (a: Claim, b: Claim): number => byCreation(a.vm.meta, b.vm.meta) || a.index - b.index;

export class AddressBook {
  private readonly blocks = new Map<string, Block[]>();
  private readonly vms = new Map<string, VmEntry>();
  private readonly byTenant = new Map<string | null, Set<string>>();
  /** VMs of tenants without blocks (another tenant's new block can take their addresses). */
  private readonly unblocked = new Set<string>();
  /** Address text → the vNICs that pass the block rules for it, first holder first. */
  private readonly claims = new Map<string, Claim[]>();
  private changed = new Set<string>();

  /** The first refused vNIC of a VM (the VM is never bound while it has one), or undefined. */
  refusal(vmKey: string): AddressRefusal | undefined {
    return this.vms.get(vmKey)?.refusal;
  }

  /** VMs whose refusal changed since the last call. */
  drainChanged(): string[] {
    const out = [...this.changed];
    this.changed = new Set();
    return out;
  }

  /** A VM added or changed (`tenant`: the namespace owner), or removed (null). Returns VMs whose refusal changed. */
  setVm(key: string, vm: { metadata: Meta; spec: { vnics: readonly { name: string; ip: string }[] } } | null, tenant: string | null): string[] {
    const touched = new Set<string>();
    const old = this.vms.get(key);
    if (old) {
      this.unclaim(old, touched);
      this.byTenant.get(old.tenant)?.delete(key);
      this.unblocked.delete(key);
      this.vms.delete(key);
    }
    const before = new Map<string, string>([[key, refusalText(old?.refusal)]]);
    let entry: VmEntry | undefined;
    if (vm) {
      entry = { key, meta: { metadata: vm.metadata }, tenant, vnics: vm.spec.vnics, notOwned: [], refusal: undefined };
      entry.notOwned = this.judgeBlocks(entry);
      this.vms.set(key, entry);
      let set = this.byTenant.get(tenant);
      if (!set) this.byTenant.set(tenant, (set = new Set()));
      set.add(key);
      if (tenant !== null && !this.blocks.has(tenant)) this.unblocked.add(key);
      this.claim(entry, touched);
    }
    return this.rejudge(touched, before, entry ? [entry] : []);
  }

  /** A tenant's blocks set (null: the tenant is gone). Returns VMs whose refusal changed. */
  setTenant(name: string, blocks: readonly string[] | null): string[] {
    const old = this.blocks.get(name) ?? [];
    const next = (blocks ?? []).map((block) => ({ block, range: parseCidr(block) }));
    if (old.length === next.length && old.every((b, i) => b.block === next[i]!.block)) return [];
    if (next.length) this.blocks.set(name, next);
    else this.blocks.delete(name);
    const own = this.byTenant.get(name) ?? new Set<string>();
    for (const k of own) if (next.length) this.unblocked.delete(k);
    else this.unblocked.add(k);
    // Its own VMs, and every VM of a tenant without blocks (the other tenants' blocks bound those).
    const affected = new Set<string>([...own, ...this.unblocked]);
    const touched = new Set<string>();
    const before = new Map<string, string>();
    const entries: VmEntry[] = [];
    for (const k of affected) {
      const e = this.vms.get(k)!;
      const notOwned = this.judgeBlocks(e);
      if (notOwned.every((x, i) => x === e.notOwned[i])) continue;
      before.set(k, refusalText(e.refusal));
      this.unclaim(e, touched);
      e.notOwned = notOwned;
      this.claim(e, touched);
      entries.push(e);
    }
    return this.rejudge(touched, before, entries);
  }

  private judgeBlocks(e: VmEntry): (string | null)[] {
    const own = e.tenant === null ? [] : (this.blocks.get(e.tenant) ?? []);
    return e.vnics.map((n) => blockRefusal(e.key.slice(0, e.key.indexOf('/')), n.ip, e.tenant, own, this.otherBlock));
  }

  private readonly otherBlock = (tenant: string, ip: number) => {
    for (const [other, blocks] of this.blocks) {
      if (other === tenant) continue;
      const b = blocks.find((x) => ip >= x.range[0] && ip <= x.range[1]);
      if (b) return { tenant: other, block: b.block };
    }
    return undefined;
  };

  private claim(e: VmEntry, touched: Set<string>): void {
    e.vnics.forEach((n, index) => {
      if (e.notOwned[index] !== null) return;
      let list = this.claims.get(n.ip);
      if (!list) this.claims.set(n.ip, (list = []));
      const c = { vm: e, index };
      // Usually the only claimant: a linear insert keeps the list sorted.
      let i = list.length;
      while (i > 0 && claimOrder(c, list[i - 1]!) < 0) i--;
      list.splice(i, 0, c);
      touched.add(n.ip);
    });
  }

  private unclaim(e: VmEntry, touched: Set<string>): void {
    e.vnics.forEach((n, index) => {
      if (e.notOwned[index] !== null) return;
      const list = this.claims.get(n.ip);
      if (!list) return;
      const i = list.findIndex((c) => c.vm === e && c.index === index);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.claims.delete(n.ip);
      touched.add(n.ip);
    });
  }

  /** Re-derive the refusal of `entries` and of every claimant of the touched addresses. */
  private rejudge(touched: Set<string>, before: Map<string, string>, entries: VmEntry[]): string[] {
    const judge = new Map<string, VmEntry>(entries.map((e) => [e.key, e]));
    for (const ip of touched) for (const c of this.claims.get(ip) ?? []) judge.set(c.vm.key, c.vm);
    for (const e of judge.values()) {
      if (!before.has(e.key)) before.set(e.key, refusalText(e.refusal));
      e.refusal = this.refusalOf(e);
    }
    const out: string[] = [];
    for (const [k, was] of before) if (refusalText(this.vms.get(k)?.refusal) !== was) out.push(k);
    for (const k of out) this.changed.add(k);
    return out;
  }

  private refusalOf(e: VmEntry): AddressRefusal | undefined {
    for (let index = 0; index < e.vnics.length; index++) {
      const n = e.vnics[index]!;
      const refuse = (reason: AddressReason, message: string): AddressRefusal => ({ vm: e.key, vnic: n.name, index, ip: n.ip, reason, message });
      const notOwned = e.notOwned[index];
      if (notOwned !== null && notOwned !== undefined) return refuse('AddressNotOwned', notOwned);
      const holder = this.claims.get(n.ip)![0]!;
      if (holder.vm !== e || holder.index !== index) return refuse('AddressConflict', conflictMessage(n.ip, { vm: holder.vm.key, vnic: holder.vm.vnics[holder.index]!.name }));
    }
    return undefined;
  }
}

const refusalText = (r: AddressRefusal | undefined): string => (r ? `${r.reason}\u0000${r.vnic}\u0000${r.message}` : '');

