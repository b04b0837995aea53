// Sets over protocol × port, as sorted disjoint intervals: the symbolic half of the analysis.
// ICMP carries no port, so it is one atom (port 0).
import type { CompiledPort } from '../api';
import type { PacketProtocol } from '../policy/decision';

export const PROTOCOLS: readonly PacketProtocol[] = ['TCP', 'UDP', 'SCTP', 'ICMP'];
export const ICMP = 3;
const MAX_PORT = [65535, 65535, 65535, 0];

/** [protocol index, first port, last port]; lists are sorted by (protocol, first) and disjoint. */
export type Iv = readonly [number, number, number];
export type PortSet = readonly Iv[];

export const FULL: PortSet = PROTOCOLS.map((_, p) => [p, 0, MAX_PORT[p]!] as const);

/** The set a compiled rule's ports match (no ports = every protocol and port). */
export function portsOf(ports: readonly CompiledPort[]): PortSet {
  if (ports.length === 0) return FULL;
  const out: Iv[] = [];
  for (const e of ports) {
    const protos = e.protocol === 'Any' ? [0, 1, 2, 3] : [PROTOCOLS.indexOf(e.protocol)];
    for (const p of protos) {
      if (e.port === undefined) out.push([p, 0, MAX_PORT[p]!]);
      // A port on ICMP (or Any) never matches ICMP (the reference evaluator's rule); validation forbids it anyway.
      else if (p !== ICMP) out.push([p, e.port, e.endPort ?? e.port]);
    }
  }
  return normalize(out);
}

/** Sort and merge overlapping or adjacent intervals. */
export function normalize(ivs: Iv[]): PortSet {
  ivs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: Iv[] = [];
  for (const iv of ivs) {
    const last = out[out.length - 1];
    if (last && last[0] === iv[0] && iv[1] <= last[2] + 1) {
      if (iv[2] > last[2]) out[out.length - 1] = [last[0], last[1], iv[2]];
    } else out.push(iv);
  }
  return out;
}

export function intersect(a: PortSet, b: PortSet): Iv[] {
  return intersectWith(a, b, (x) => x, (y) => y, (iv) => iv);
}

/** Merge-walks two sorted interval lists, one `make(overlap, x, y)` per overlapping pair. */
export function intersectWith<A, B, R>(a: readonly A[], b: readonly B[], ivA: (x: A) => Iv, ivB: (y: B) => Iv, make: (iv: Iv, x: A, y: B) => R): R[] {
  const out: R[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = ivA(a[i]!);
    const y = ivB(b[j]!);
    if (x[0] !== y[0]) {
      if (x[0] < y[0]) i++;
      else j++;
      continue;
    }
    const lo = Math.max(x[1], y[1]);
    const hi = Math.min(x[2], y[2]);
    if (lo <= hi) out.push(make([x[0], lo, hi], a[i]!, b[j]!));
    if (x[2] < y[2]) i++;
    else j++;
  }
  return out;
}

export function subtract(a: PortSet, b: PortSet): Iv[] {
  const out: Iv[] = [];
  let j = 0;
  for (const x of a) {
    let lo = x[1];
    while (j < b.length && (b[j]![0] < x[0] || (b[j]![0] === x[0] && b[j]![2] < lo))) j++;
    let k = j;
    while (k < b.length && b[k]![0] === x[0] && b[k]![1] <= x[2]) {
      const y = b[k]!;
      if (y[1] > lo) out.push([x[0], lo, y[1] - 1]);
      lo = Math.max(lo, y[2] + 1);
      k++;
    }
    if (lo <= x[2]) out.push([x[0], lo, x[2]]);
  }
  return out;
}

export function contains(s: PortSet, proto: number, port: number): boolean {
  return s.some((iv) => iv[0] === proto && port >= iv[1] && port <= iv[2]);
}

/** The JSON form: [{protocol, from, to}] (ICMP without ports). */
export interface PortRange {
  protocol: PacketProtocol;
  from?: number;
  to?: number;
}
export function toRanges(s: PortSet): PortRange[] {
  return s.map(([p, lo, hi]) => (p === ICMP ? { protocol: 'ICMP' } : { protocol: PROTOCOLS[p]!, from: lo, to: hi }));
}
export function fromRanges(r: readonly PortRange[]): PortSet {
  return normalize(r.map((x) => {
    const p = PROTOCOLS.indexOf(x.protocol);
    return p === ICMP ? [p, 0, 0] : [p, x.from ?? 0, x.to ?? x.from ?? 65535];
  }));
}

export function formatRanges(s: PortSet): string {
  return s.map(([p, lo, hi]) => (p === ICMP ? 'ICMP' : lo === 0 && hi === 65535 ? `${PROTOCOLS[p]}/any` : lo === hi ? `${PROTOCOLS[p]}/${lo}` : `${PROTOCOLS[p]}/${lo}-${hi}`)).join(', ');
}
