// ClassBench rule sets as HostFilter programs, for benchmarks and tests.
// Mapping of one ClassBench rule (5-tuple) onto one compiled rule of our 2-D model (remote address,
// protocol + destination port), evaluated as the ingress list of one vNIC:
//   source prefix              → peer {cidr}           (the remote address of an ingress packet)
//   destination port range     → port/endPort          (0 : 65535 → no port: any port)
//   protocol 0x06/0xFF         → TCP;  0x11/0xFF → UDP
//   protocol */0x00 (wildcard) → Any (with the port range when it is not the full range)
//   any other protocol number  → ICMP (our model has no other port-less protocol; ICMP takes no port)
// Destination address and source port are dropped (the vNIC is the destination). Rule i is named "r<i>";
// actions alternate Allow/Deny so that verdicts, not only rule ids, are compared.
import type { CompiledPort, CompiledRule, HostFilterSpec } from '../../src/api';
import type { Lookup } from '../../src/dataplane/types';
import { formatIPv4, parseCidr } from '../../src/dataplane/ip';

export interface ClassBenchRule {
  src: string;
  dportLo: number;
  dportHi: number;
  /** Protocol number, or null for the wildcard. */
  proto: number | null;
}

const LINE = /^@(\d+\.\d+\.\d+\.\d+\/\d+)\s+\S+\s+\d+\s*:\s*\d+\s+(\d+)\s*:\s*(\d+)\s+0x([0-9a-fA-F]+)\/0x([0-9a-fA-F]+)/;

/** Parse a ClassBench file's text; throws on a malformed line (blank lines are skipped). */
export function parseClassBench(text: string): ClassBenchRule[] {
  const out: ClassBenchRule[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const m = LINE.exec(line);
    if (!m) throw new Error(`classbench line ${i + 1}: cannot parse "${line.slice(0, 80)}"`);
    const mask = parseInt(m[5]!, 16);
    out.push({ src: m[1]!, dportLo: Number(m[2]), dportHi: Number(m[3]), proto: mask === 0 ? null : parseInt(m[4]!, 16) });
  });
  return out;
}

export function classBenchPort(r: ClassBenchRule): CompiledPort {
  const protocol = r.proto === null ? 'Any' : r.proto === 6 ? 'TCP' : r.proto === 17 ? 'UDP' : 'ICMP';
  if (protocol === 'ICMP' || (r.dportLo === 0 && r.dportHi === 65535)) return { protocol };
  return r.dportHi === r.dportLo ? { protocol, port: r.dportLo } : { protocol, port: r.dportLo, endPort: r.dportHi };
}

export const CLASSBENCH_VM = 'bench/classbench';
export const CLASSBENCH_VNIC = 'eth0';

/** One program holding the rule set as its ingress list, bound to one vNIC. */
export function classBenchSpec(rules: ClassBenchRule[], name = 'classbench'): HostFilterSpec {
  const ingress: CompiledRule[] = rules.map((r, i) => ({
    tier: 'Tenant',
    policy: `bench/${name}`,
    rule: `r${i}`,
    action: i % 2 === 0 ? 'Allow' : 'Deny',
    peers: [{ cidr: r.src }],
    ports: [classBenchPort(r)],
  }));
  return {
    hostName: name,
    hash: name,
    programs: [{ id: `p-${name}`, egress: [], ingress }],
    addressGroups: [],
    bindings: [{ vm: CLASSBENCH_VM, vnic: CLASSBENCH_VNIC, ip: '10.255.255.254', mac: '02:00:00:00:00:fe', program: `p-${name}` }],
  };
}

/**
 * Random packet headers for a rule set: a fraction `inRule` picks a random rule and a random point
 * inside it (address, port, protocol), the rest are uniform over the whole space.
 */
export function classBenchHeaders(rules: ClassBenchRule[], count: number, rand: () => number, inRule = 0.8): Lookup[] {
  const protos = ['TCP', 'UDP', 'SCTP', 'ICMP'] as const;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const out: Lookup[] = [];
  for (let i = 0; i < count; i++) {
    const base = { vm: CLASSBENCH_VM, vnic: CLASSBENCH_VNIC, direction: 'ingress' as const };
    if (rules.length > 0 && rand() < inRule) {
      const r = pick(rules);
      const [lo, hi] = parseCidr(r.src);
      const proto = r.proto === null ? pick(protos) : r.proto === 6 ? 'TCP' : r.proto === 17 ? 'UDP' : 'ICMP';
      out.push({ ...base, remoteIp: formatIPv4(between(lo, hi)), protocol: proto, port: proto === 'ICMP' ? 0 : between(r.dportLo, r.dportHi) });
    } else {
      out.push({ ...base, remoteIp: formatIPv4(between(0, 0xffffffff)), protocol: pick(protos), port: between(0, 65535) });
    }
  }
  return out;
}

/** Deterministic PRNG (mulberry32) so that benchmark runs are repeatable. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
