// The analysis model built from compiled HostFilters: distinct vNIC addresses, the peer sets the
// programs name (address groups and CIDRs) resolved to those addresses, and one entry per distinct
// program and direction. Everything is per distinct program, never per vNIC × rule.
import type { CompiledPeer, CompiledRule, HostFilterSpec, Program } from '../api';
import { formatIPv4, parseCidr, parseIPv4 } from '../dataplane/ip';
import type { Direction } from '../policy/decision';
import { allowedSet, type AllowSeg } from './program';
import { FULL } from './ports';

/** A bound vNIC. */
export interface Endpoint {
  /** "ns/vm/vnic" */
  key: string;
  vm: string;
  vnic: string;
  ip: string;
  /** Index into Model.ips. */
  ipIndex: number;
  /** Tenant name, NO_TENANT for a VM in a namespace no tenant owns. */
  tenant: string;
  host: string;
  program: ProgramModel;
}

export const NO_TENANT = '(none)';

/** The addresses one compiled peer stands for, over the bound vNIC addresses. */
export class PeerSet {
  /** Members when not huge, non-members when huge (more than half of all addresses). */
  readonly exceptions: number[];
  private readonly set: Set<number>;
  constructor(
    readonly huge: boolean,
    exceptions: number[],
    /** Address ranges for addresses that are no vNIC (outside addresses); null = none. */
    readonly outside: { ranges: [number, number][]; except: [number, number][] } | null,
  ) {
    this.exceptions = exceptions;
    this.set = new Set(exceptions);
  }
  has(ipIndex: number): boolean {
    return this.huge ? !this.set.has(ipIndex) : this.set.has(ipIndex);
  }
  hasOutside(ip: number): boolean {
    if (!this.outside) return false;
    return this.outside.ranges.some(([lo, hi]) => ip >= lo && ip <= hi) && !this.outside.except.some(([lo, hi]) => ip >= lo && ip <= hi);
  }
}

/** One program in one direction: the peer sets it names and its allowed sets per address class. */
export class DirectionModel {
  /** Distinct peer sets named by the rules. */
  readonly refs: PeerSet[] = [];
  /** Per rule: positions in refs (empty = any peer). */
  readonly rulePeers: number[][];
  private readonly memo = new Map<string, AllowSeg[]>();
  constructor(readonly rules: CompiledRule[], peerSet: (p: CompiledPeer) => PeerSet) {
    const pos = new Map<PeerSet, number>();
    this.rulePeers = rules.map((r) =>
      r.peers.map((p) => {
        const s = peerSet(p);
        let i = pos.get(s);
        if (i === undefined) {
          pos.set(s, (i = this.refs.length));
          this.refs.push(s);
        }
        return i;
      }),
    );
  }
  private byKey(bits: boolean[]): AllowSeg[] {
    const key = bits.map((b) => (b ? '1' : '0')).join('');
    let r = this.memo.get(key);
    if (!r) {
      r = allowedSet(this.rules, (i) => this.rulePeers[i]!.length === 0 || this.rulePeers[i]!.some((k) => bits[k]), FULL);
      this.memo.set(key, r);
    }
    return r;
  }
  /** Allowed toward/from the vNIC address with this index. */
  forAddress(ipIndex: number): AllowSeg[] {
    return this.byKey(this.refs.map((s) => s.has(ipIndex)));
  }
  /** Allowed toward/from any address outside exceptionalAddresses(). */
  generic(): AllowSeg[] {
    return this.byKey(this.refs.map((s) => s.huge));
  }
  /** vNIC addresses for which the answer may differ from generic(). */
  exceptionalAddresses(): Set<number> {
    const out = new Set<number>();
    for (const s of this.refs) for (const i of s.exceptions) out.add(i);
    return out;
  }
  /** Allowed toward/from an address that is no vNIC. */
  forOutside(ip: number): AllowSeg[] {
    return this.byKey(this.refs.map((s) => s.hasOutside(ip)));
  }
  /** Cut points of the outside address space: every boundary of a CIDR peer. */
  outsideCuts(): number[] {
    const cuts = new Set<number>([0]);
    for (const s of this.refs)
      if (s.outside) for (const [lo, hi] of [...s.outside.ranges, ...s.outside.except]) {
        cuts.add(lo);
        if (hi < 0xffffffff) cuts.add(hi + 1);
      }
    return [...cuts].sort((a, b) => a - b);
  }
}

export class ProgramModel {
  readonly egress: DirectionModel;
  readonly ingress: DirectionModel;
  readonly endpoints: Endpoint[] = [];
  constructor(readonly program: Program, peerSet: (p: CompiledPeer) => PeerSet) {
    this.egress = new DirectionModel(program.egress, peerSet);
    this.ingress = new DirectionModel(program.ingress, peerSet);
  }
  dir(d: Direction): DirectionModel {
    return d === 'egress' ? this.egress : this.ingress;
  }
}

export interface ModelInput {
  filters: Iterable<HostFilterSpec>;
  /** "ns/name" of a VM → its tenant (null: no tenant). */
  tenantOf: (vm: string) => string | null;
  /** Members of shared address groups (id → addresses), as the AddressGroup objects hold them. */
  sharedGroups?: ReadonlyMap<string, readonly string[]>;
}

const rangeOf = (a: string): [number, number] => (a.includes('/') ? parseCidr(a) : [parseIPv4(a), parseIPv4(a)]);

export class Model {
  /** Distinct bound addresses, ascending. */
  readonly ips: Uint32Array;
  readonly endpoints: Endpoint[] = [];
  readonly programs: ProgramModel[] = [];
  /** ipIndex → endpoints with that address. */
  readonly atAddress: Endpoint[][];

  constructor(input: ModelInput) {
    const groups = new Map<string, readonly string[]>();
    const programs = new Map<string, ProgramModel>();
    const raw: { vm: string; vnic: string; ip: string; host: string; program: Program }[] = [];
    const seen = new Set<string>();
    const filters = [...input.filters].sort((a, b) => (a.hostName < b.hostName ? -1 : a.hostName > b.hostName ? 1 : 0));
    for (const f of filters) {
      for (const g of f.addressGroups) if (!groups.has(g.id)) groups.set(g.id, g.shared ? (input.sharedGroups?.get(g.id) ?? []) : g.addresses);
      const progs = new Map(f.programs.map((p) => [p.id, p]));
      for (const b of f.bindings) {
        const key = `${b.vm}/${b.vnic}`;
        const program = progs.get(b.program);
        // A vNIC bound on two hosts (migration) is judged by the first; an unknown program binds nothing.
        if (!program || seen.has(key)) continue;
        seen.add(key);
        raw.push({ vm: b.vm, vnic: b.vnic, ip: b.ip, host: f.hostName, program });
      }
    }
    const nums = raw.map((r) => parseIPv4(r.ip));
    this.ips = Uint32Array.from(new Set(nums)).sort();
    const indexOf = (ip: number) => lowerBound(this.ips, ip);
    this.atAddress = Array.from({ length: this.ips.length }, () => []);

    const n = this.ips.length;
    const sets = new Map<string, PeerSet>();
    const membersIn = (ranges: [number, number][], except: [number, number][]): number[] => {
      const out: number[] = [];
      for (const [lo, hi] of ranges)
        for (let i = lowerBound(this.ips, lo); i < n && this.ips[i]! <= hi; i++) {
          const v = this.ips[i]!;
          if (!except.some(([a, b]) => v >= a && v <= b)) out.push(i);
        }
      return out;
    };
    const make = (members: number[], outside: PeerSet['outside']): PeerSet => {
      if (members.length * 2 <= n) return new PeerSet(false, members, outside);
      const mem = new Set(members);
      const non: number[] = [];
      for (let i = 0; i < n; i++) if (!mem.has(i)) non.push(i);
      return new PeerSet(true, non, outside);
    };
    const peerSet = (p: CompiledPeer): PeerSet => {
      const key = p.group !== undefined ? `g:${p.group}` : `c:${p.cidr}|${(p.except ?? []).join(',')}`;
      let s = sets.get(key);
      if (!s) {
        if (p.group !== undefined) {
          // Groups hold vNIC addresses only (the compiler resolves peers to bound vNICs).
          s = make(membersIn((groups.get(p.group) ?? []).map(rangeOf), []), null);
        } else {
          const ranges = p.cidr !== undefined ? [parseCidr(p.cidr)] : [];
          const except = (p.except ?? []).map(parseCidr);
          s = make(membersIn(ranges, except), { ranges, except });
        }
        sets.set(key, s);
      }
      return s;
    };

    raw.sort((a, b) => cmp(`${a.vm}/${a.vnic}`, `${b.vm}/${b.vnic}`));
    for (const r of raw) {
      let pm = programs.get(r.program.id);
      if (!pm) {
        programs.set(r.program.id, (pm = new ProgramModel(r.program, peerSet)));
        this.programs.push(pm);
      }
      const ipIndex = indexOf(parseIPv4(r.ip));
      const e: Endpoint = {
        key: `${r.vm}/${r.vnic}`, vm: r.vm, vnic: r.vnic, ip: r.ip, ipIndex,
        tenant: input.tenantOf(r.vm) ?? NO_TENANT, host: r.host, program: pm,
      };
      pm.endpoints.push(e);
      this.endpoints.push(e);
      this.atAddress[ipIndex]!.push(e);
    }
  }

  /** The first address in [lo, hi] that is no bound vNIC address, or null. */
  outsideAddressIn(lo: number, hi: number): number | null {
    let v = lo;
    for (let i = lowerBound(this.ips, lo); i < this.ips.length && this.ips[i] === v && v <= hi; i++) v++;
    return v <= hi ? v : null;
  }
}

export const ipText = formatIPv4;

function lowerBound(a: Uint32Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
