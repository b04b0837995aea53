// The words of a trace, shared by `vmsafe trace` (offline and --live) and the dashboard's Trace view:
// parsing a probe ({from, to, protocol, port[, srcIp, srcMac]}) with one-line errors, and the text
// and JSON shapes of a verdict. One wording everywhere a person asks.
import { MAC_PATTERN } from '../api';
import { type Decision, IMPLICIT_RULES, type PacketProtocol, type PacketVerdict } from './decision';
import type { Endpoint, Packet } from './reference';
import type { TraceResult } from './tracer';

const PROTOCOLS: readonly PacketProtocol[] = ['TCP', 'UDP', 'SCTP', 'ICMP'];
const MAC = new RegExp(MAC_PATTERN);
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** What the person typed is wrong (the message names the field). */
export class ProbeError extends Error {}

export function parseEndpoint(s: string): Endpoint {
  if (IPV4.test(s)) return { ip: s };
  const parts = s.split('/');
  if (parts.length === 2 && parts.every(Boolean)) return { vm: s };
  if (parts.length === 3 && parts.every(Boolean)) return { vm: `${parts[0]}/${parts[1]}`, vnic: parts[2] };
  throw new ProbeError(`"${s}" is neither NS/VM[/VNIC] nor an IPv4 address`);
}

export function parseProbe(p: { from?: unknown; to?: unknown; protocol?: unknown; port?: unknown; srcIp?: unknown; srcMac?: unknown }): Packet {
  if (typeof p.from !== 'string' || typeof p.to !== 'string') throw new ProbeError('"from" and "to" must be strings');
  const protocol = String(p.protocol ?? 'TCP').toUpperCase() as PacketProtocol;
  if (!PROTOCOLS.includes(protocol)) throw new ProbeError(`protocol must be one of ${PROTOCOLS.join(', ')}, got ${JSON.stringify(p.protocol)}`);
  const port = p.port === undefined || p.port === null ? (protocol === 'ICMP' ? 0 : NaN) : Number(p.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ProbeError(`port must be an integer 0-65535${protocol === 'ICMP' ? '' : ` (required for ${protocol})`}`);
  const pkt: Packet = { from: parseEndpoint(p.from), to: parseEndpoint(p.to), protocol, port };
  if (!('vm' in pkt.from) && !('vm' in pkt.to)) throw new ProbeError('at least one end must be a VM');
  if (p.srcIp !== undefined) {
    if (typeof p.srcIp !== 'string' || !IPV4.test(p.srcIp)) throw new ProbeError(`src-ip must be an IPv4 address, got ${JSON.stringify(p.srcIp)}`);
    pkt.srcIp = p.srcIp;
  }
  if (p.srcMac !== undefined) {
    if (typeof p.srcMac !== 'string' || !MAC.test(p.srcMac)) throw new ProbeError(`src-mac must be a MAC address (aa:bb:cc:dd:ee:ff), got ${JSON.stringify(p.srcMac)}`);
    pkt.srcMac = p.srcMac;
  }
  if ((pkt.srcIp !== undefined || pkt.srcMac !== undefined) && !('vm' in pkt.from)) throw new ProbeError('src-ip/src-mac need a VM source (--from NS/VM[/VNIC])');
  return pkt;
}

/** The JSON shape of one verdict (issue 4). */
export function verdictJson(v: PacketVerdict): object {
  const side = (d: Decision | null) => (d ? { verdict: d.verdict, tier: d.tier, policy: d.policy, rule: d.rule } : null);
  return { verdict: v.verdict, egress: side(v.egress), ingress: side(v.ingress) };
}

export const describeEnd = (e: Endpoint) => ('ip' in e ? e.ip : e.vnic ? `${e.vm}/${e.vnic}` : e.vm);

function describeDecision(d: Decision): string {
  const by = d.policy ? `${d.tier} policy ${d.policy} rule ${d.rule}` : `${d.tier} (${d.rule})`;
  return `${d.verdict.padEnd(5)} by ${by}`;
}

export function formatText(pkt: Packet, r: TraceResult & { unbound?: string }): string {
  const v = r.compiled;
  const what = pkt.protocol === 'ICMP' ? 'ICMP' : `${pkt.protocol}/${pkt.port}`;
  const lines = [`${v.verdict}  ${describeEnd(pkt.from)} -> ${describeEnd(pkt.to)}  ${what}`];
  if (r.unbound) {
    const [end, side] = v.egress ? [pkt.from, 'egress '] : [pkt.to, 'ingress'];
    return `${lines[0]}\n  ${side} at ${describeEnd(end)}: Deny  by Default (unbound): never bound: ${r.unbound}\n`;
  }
  lines.push(
    v.egress
      ? `  egress  at ${describeEnd(pkt.from)} (host ${r.hosts.egress}): ${describeDecision(v.egress)}`
      : `  egress  ${describeEnd(pkt.from)} is not a vNIC: not filtered`,
  );
  const spoofed = v.egress?.rule === IMPLICIT_RULES.spoofguard;
  lines.push(
    v.ingress
      ? `  ingress at ${describeEnd(pkt.to)} (host ${r.hosts.ingress}): ${describeDecision(v.ingress)}`
      : spoofed
        ? `  ingress ${describeEnd(pkt.to)} not reached: source ${[pkt.srcIp, pkt.srcMac].filter(Boolean).join(' ')} is not ${describeEnd(pkt.from)}'s own`
        : `  ingress ${describeEnd(pkt.to)} is not a vNIC: not filtered`,
  );
  return lines.join('\n') + '\n';
}

export function disagreement(pkt: Packet, r: TraceResult): string {
  return (
    `vmsafe trace: BUG: the compiled filter and the reference evaluator disagree on ${describeEnd(pkt.from)} -> ${describeEnd(pkt.to)} ${pkt.protocol}/${pkt.port}\n` +
    `  compiled:  ${JSON.stringify(verdictJson(r.compiled))}\n  reference: ${JSON.stringify(verdictJson(r.reference))}\n`
  );
}
