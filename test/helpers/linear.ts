// The plain interpreter of a HostFilter spec: first match in order, straight from the rules.
// It is the reference the fast classifier is tested against and the "linear scan" baseline in benchmarks.
import type { CompiledPeer, CompiledPort, CompiledRule, HostFilterSpec } from '../../src/api';
import type { Decision, PacketProtocol } from '../../src/policy/decision';
import { inRange, parseCidr, parseIPv4 } from '../../src/dataplane/ip';
import { NO_MATCH, TIER_RANK, UNBOUND, bindingKey, ruleDecision } from '../../src/dataplane/semantics';
import type { Classifier, Lookup } from '../../src/dataplane/types';

type Range = [number, number];

/** A peer with its addresses parsed: members of its group, or its CIDR minus its exceptions. */
interface ParsedPeer {
  members: Range[] | null;
  cidr: Range | null;
  except: Range[];
}

export interface LinearClassifier extends Classifier {
  /** Rules examined plus peer members and port entries compared, summed over all lookups so far. */
  ops: number;
}

/**
 * A peer matches when the remote IP is a member of its address group, or lies in its CIDR and in none
 * of its exceptions. A peer that names an unknown group, or neither a group nor a CIDR, matches nothing.
 */
function peerMatches(p: ParsedPeer, ip: number, count: (n: number) => void): boolean {
  if (p.members) {
    for (const m of p.members) {
      count(1);
      if (inRange(ip, m)) return true;
    }
  }
  if (p.cidr && inRange(ip, p.cidr)) {
    count(1 + p.except.length);
    return !p.except.some((e) => inRange(ip, e));
  }
  return false;
}

/**
 * A port entry matches when its protocol is the packet's (or Any) and it has no port or the port lies in
 * [port, endPort ?? port]. ICMP has no ports: only port-less ICMP/Any entries match it.
 */
export function portMatches(e: CompiledPort, protocol: PacketProtocol, port: number): boolean {
  if (e.protocol !== 'Any' && e.protocol !== protocol) return false;
  if (e.port === undefined) return true;
  if (protocol === 'ICMP') return false;
  return port >= e.port && port <= (e.endPort ?? e.port);
}

export function buildLinearClassifier(spec: HostFilterSpec): LinearClassifier {
  const groups = new Map<string, Range[]>(spec.addressGroups.map((g) => [g.id, g.addresses.map(parseCidr)]));
  const parsePeer = (p: CompiledPeer): ParsedPeer => ({
    members: p.group !== undefined ? (groups.get(p.group) ?? []) : null,
    cidr: p.cidr !== undefined ? parseCidr(p.cidr) : null,
    except: (p.except ?? []).map(parseCidr),
  });
  interface Prepared {
    rule: CompiledRule;
    peers: ParsedPeer[];
    decision: Decision | null;
  }
  const prepare = (rules: CompiledRule[]): Prepared[] =>
    rules.map((rule) => ({ rule, peers: rule.peers.map(parsePeer), decision: rule.action === 'Pass' ? null : ruleDecision(rule) }));
  const programs = new Map(spec.programs.map((p) => [p.id, { egress: prepare(p.egress), ingress: prepare(p.ingress) }]));
  const bindings = new Map(spec.bindings.map((b) => [bindingKey(b.vm, b.vnic), b.program]));

  const self: LinearClassifier = {
    ops: 0,
    classify(l: Lookup): Decision {
      const programId = bindings.get(bindingKey(l.vm, l.vnic));
      const program = programId === undefined ? undefined : programs.get(programId);
      if (!program) return UNBOUND;
      const rules = program[l.direction];
      const ip = parseIPv4(l.remoteIp);
      const count = (n: number) => {
        self.ops += n;
      };
      let i = 0;
      while (i < rules.length) {
        const { rule, peers, decision } = rules[i]!;
        count(1);
        const peerOk = peers.length === 0 || peers.some((p) => peerMatches(p, ip, count));
        const portOk = peerOk && (rule.ports.length === 0 || rule.ports.some((e) => (count(1), portMatches(e, l.protocol, l.port))));
        if (peerOk && portOk) {
          if (decision) return decision;
          // Pass: continue at the first later rule of a higher tier.
          const rank = TIER_RANK[rule.tier];
          i++;
          while (i < rules.length && TIER_RANK[rules[i]!.rule.tier] <= rank) i++;
          continue;
        }
        i++;
      }
      return NO_MATCH;
    },
  };
  return self;
}
