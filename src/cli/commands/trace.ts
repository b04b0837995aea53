// `vmsafe trace -f DIR --from NS/VM[/VNIC]|IP --to NS/VM[/VNIC]|IP --protocol P --port N [-o json]`
// `vmsafe trace -f DIR --probes FILE` (JSON lines in, JSON lines out).
//
// Offline verdict from manifests: VMs are placed as the operator would place them, every host's
// filter is compiled, each side of the packet is classified by its host's compiled classifier and
// cross-checked against the reference evaluator. Exit 0 = traced (whatever the verdict), 1 = bad
// input, 2 = usage, 3 = the compiled filter and the reference disagree (a bug: please report it).
import { readFile } from 'node:fs/promises';
import { MAC_PATTERN } from '../../api';
import { buildClassifier } from '../../dataplane/classifier';
import { type Decision, IMPLICIT_RULES, type PacketProtocol, type PacketVerdict } from '../../policy/decision';
import { isAddressRefusal, unboundVerdict } from '../../policy/offline';
import { ReferenceEvaluator, type Endpoint, type Packet } from '../../policy/reference';
import { enforced, isEnforced } from '../../policy/staged';
import { loadTraceWorld, offlineTracer } from '../../policy/trace-offline';
import type { TraceResult } from '../../policy/tracer';
import { progressLine } from '../../util/progress';
import { act, collect, Command, Option, runCommand, verb } from '../program';

const PROTOCOLS: readonly PacketProtocol[] = ['TCP', 'UDP', 'SCTP', 'ICMP'];
const MAC = new RegExp(MAC_PATTERN);
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

class InputError extends Error {}

export function parseEndpoint(s: string): Endpoint {
  if (IPV4.test(s)) return { ip: s };
  const parts = s.split('/');
  if (parts.length === 2 && parts.every(Boolean)) return { vm: s };
  if (parts.length === 3 && parts.every(Boolean)) return { vm: `${parts[0]}/${parts[1]}`, vnic: parts[2] };
  throw new InputError(`"${s}" is neither NS/VM[/VNIC] nor an IPv4 address`);
}

export function parseProbe(p: { from?: unknown; to?: unknown; protocol?: unknown; port?: unknown; srcIp?: unknown; srcMac?: unknown }): Packet {
  if (typeof p.from !== 'string' || typeof p.to !== 'string') throw new InputError('"from" and "to" must be strings');
  const protocol = String(p.protocol ?? 'TCP').toUpperCase() as PacketProtocol;
  if (!PROTOCOLS.includes(protocol)) throw new InputError(`protocol must be one of ${PROTOCOLS.join(', ')}, got ${JSON.stringify(p.protocol)}`);
  const port = p.port === undefined || p.port === null ? (protocol === 'ICMP' ? 0 : NaN) : Number(p.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError(`port must be an integer 0-65535${protocol === 'ICMP' ? '' : ` (required for ${protocol})`}`);
  const pkt: Packet = { from: parseEndpoint(p.from), to: parseEndpoint(p.to), protocol, port };
  if (!('vm' in pkt.from) && !('vm' in pkt.to)) throw new InputError('at least one end must be a VM');
  if (p.srcIp !== undefined) {
    if (typeof p.srcIp !== 'string' || !IPV4.test(p.srcIp)) throw new InputError(`src-ip must be an IPv4 address, got ${JSON.stringify(p.srcIp)}`);
    pkt.srcIp = p.srcIp;
  }
  if (p.srcMac !== undefined) {
    if (typeof p.srcMac !== 'string' || !MAC.test(p.srcMac)) throw new InputError(`src-mac must be a MAC address (aa:bb:cc:dd:ee:ff), got ${JSON.stringify(p.srcMac)}`);
    pkt.srcMac = p.srcMac;
  }
  if ((pkt.srcIp !== undefined || pkt.srcMac !== undefined) && !('vm' in pkt.from)) throw new InputError('src-ip/src-mac need a VM source (--from NS/VM[/VNIC])');
  return pkt;
}

/** The JSON shape of one verdict (issue 4). */
export function verdictJson(v: PacketVerdict): object {
  const side = (d: Decision | null) => (d ? { verdict: d.verdict, tier: d.tier, policy: d.policy, rule: d.rule } : null);
  return { verdict: v.verdict, egress: side(v.egress), ingress: side(v.ingress) };
}

const describeEnd = (e: Endpoint) => ('ip' in e ? e.ip : e.vnic ? `${e.vm}/${e.vnic}` : e.vm);

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

function disagreement(pkt: Packet, r: TraceResult): string {
  return (
    `vmsafe trace: BUG: the compiled filter and the reference evaluator disagree on ${describeEnd(pkt.from)} -> ${describeEnd(pkt.to)} ${pkt.protocol}/${pkt.port}\n` +
    `  compiled:  ${JSON.stringify(verdictJson(r.compiled))}\n  reference: ${JSON.stringify(verdictJson(r.reference))}\n`
  );
}

export function command(): Command {
  return verb('trace', 'offline verdict for a packet, from manifests')
    .usage('-f PATH --from END --to END [--protocol P] [--port N] [-o text|json]  |  -f PATH --probes FILE')
    .addHelpText('after', `\nAn END is NS/VM[/VNIC] or an IPv4 address. --probes FILE (or -) reads one {"from","to","protocol","port"}\n(optionally "srcIp","srcMac") JSON object per line and writes one JSON verdict per line. Exit 0 traced, 1 bad input, 2 usage, 3 a bug.`)
    .option('-f, --filename <path>', 'manifests: file, directory or - (repeatable)', collect)
    .option('--from <end>', 'source: NS/VM[/VNIC] or IPv4')
    .option('--to <end>', 'destination: NS/VM[/VNIC] or IPv4')
    .option('--protocol <p>', 'TCP, UDP, SCTP or ICMP', 'TCP')
    .option('--port <n>', 'destination port (not for ICMP)')
    .option('--src-ip <ip>', "source address the packet carries (default: the --from vNIC's own), to probe the spoof guard")
    .option('--src-mac <mac>', "source MAC the packet carries (default: the --from vNIC's own)")
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--probes <file>', 'JSON lines of probes (- for stdin)')
    .action(act(trace));
}

export const run = (argv: string[]) => runCommand(command(), argv);

interface TraceFlags {
  filename?: string[];
  from?: string;
  to?: string;
  protocol: string;
  port?: string;
  srcIp?: string;
  srcMac?: string;
  output: 'text' | 'json';
  probes?: string;
}

async function trace(values: TraceFlags): Promise<number> {
  const usage = (msg: string) => {
    process.stderr.write(`vmsafe trace: ${msg} (see vmsafe trace --help)\n`);
    return 2;
  };
  if (!values.filename?.length) return usage('no manifests (-f PATH)');
  if (!values.probes && (!values.from || !values.to)) return usage('--from and --to are required (or --probes FILE)');

  // Parse the probe(s) before the (possibly large) manifests, so typos fail fast.
  let single: Packet | undefined;
  if (!values.probes) {
    try {
      single = parseProbe({ from: values.from, to: values.to, protocol: values.protocol, port: values.port, srcIp: values.srcIp, srcMac: values.srcMac });
    } catch (err) {
      if (err instanceof InputError) return usage(err.message);
      throw err;
    }
  }

  // --probes: read and parse every line first, so only what the probes need gets compiled.
  let probes: { line: number; pkt?: Packet; error?: string }[] = [];
  if (!single) {
    let text: string;
    try {
      text = values.probes === '-' ? await readStdin() : await readFile(values.probes!, 'utf8');
    } catch (err) {
      process.stderr.write(`vmsafe trace: cannot read ${values.probes}: ${(err as Error).message}\n`);
      return 1;
    }
    probes = text.split('\n').flatMap((line, i): typeof probes => {
      if (line.trim() === '') return [];
      try {
        let obj: unknown;
        try {
          obj = JSON.parse(line);
        } catch {
          throw new InputError('not a JSON object');
        }
        if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new InputError('not a JSON object');
        return [{ line: i + 1, pkt: parseProbe(obj as Record<string, unknown>) }];
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        return [{ line: i + 1, error: err.message }];
      }
    });
  }

  const progress = progressLine('vmsafe trace');
  const { world, errors } = await loadTraceWorld(values.filename, progress);
  if (errors.length > 0) {
    progress.done();
    process.stderr.write(errors.map((e) => `${e}\n`).join('') + `vmsafe trace: ${errors.length} invalid manifest(s)\n`);
    return 1;
  }
  progress.update(() => 'placing VMs and compiling the endpoints\' hosts');
  const packets = single ? [single] : probes.flatMap((p) => (p.pkt ? [p.pkt] : []));
  const { placement, tracer } = offlineTracer(world, packets, (spec) => buildClassifier(spec));
  progress.done();
  // Staged policies: the verdict if every one of them were enforced, shown beside the enforced one.
  const staged = world.policies.some((p) => !isEnforced(p))
    ? new ReferenceEvaluator({ ...world, vms: placement.vms, policies: world.policies.map(enforced) })
    : null;
  const withStaged = (pkt: Packet, json: object): object => (staged ? { ...json, staged: verdictJson(staged.evaluate(pkt)) } : json);
  const traceOne = (pkt: Packet): TraceResult & { unbound?: string } => {
    // A VM refused its address is never bound: its side denies ("unbound"), wherever it would run.
    for (const [end, side] of [[pkt.from, 'egress'], [pkt.to, 'ingress']] as const) {
      if ('vm' in end && isAddressRefusal(placement.unplaced.get(end.vm))) {
        const v = unboundVerdict(side);
        return { compiled: v, reference: v, agree: true, hosts: { egress: null, ingress: null }, unbound: placement.unplaced.get(end.vm) };
      }
    }
    for (const end of [pkt.from, pkt.to]) {
      if ('vm' in end && placement.unplaced.has(end.vm)) throw new InputError(`VM ${end.vm} is not placed: ${placement.unplaced.get(end.vm)}`);
    }
    try {
      return tracer.trace(pkt);
    } catch (err) {
      throw new InputError((err as Error).message);
    }
  };

  if (single) {
    let r: TraceResult & { unbound?: string };
    try {
      r = traceOne(single);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      process.stderr.write(`vmsafe trace: ${err.message}\n`);
      return 1;
    }
    if (!r.agree) {
      process.stderr.write(disagreement(single, r));
      return 3;
    }
    const stagedLine = staged ? `  staged (if enforced): ${formatText(single, { ...r, compiled: staged.evaluate(single) }).replace(/\n {2}/g, '\n    ')}` : '';
    process.stdout.write(values.output === 'json' ? JSON.stringify(withStaged(single, verdictJson(r.compiled))) + '\n' : formatText(single, r) + stagedLine);
    return 0;
  }

  // --probes: one JSON verdict per input line, same order; a bad line gets {"error": "..."}.
  const out: string[] = [];
  let bad = 0;
  let bugs = 0;
  for (const probe of probes) {
    try {
      if (probe.error !== undefined) throw new InputError(probe.error);
      const pkt = probe.pkt!;
      const r = traceOne(pkt);
      if (!r.agree) {
        bugs++;
        process.stderr.write(disagreement(pkt, r));
        out.push(JSON.stringify({ error: 'compiled filter and reference evaluator disagree', compiled: verdictJson(r.compiled), reference: verdictJson(r.reference) }));
        continue;
      }
      out.push(JSON.stringify(withStaged(pkt, verdictJson(r.compiled))));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      bad++;
      process.stderr.write(`vmsafe trace: ${values.probes}:${probe.line}: ${err.message}\n`);
      out.push(JSON.stringify({ error: err.message }));
    }
  }
  process.stdout.write(out.map((l) => l + '\n').join(''));
  return bugs > 0 ? 3 : bad > 0 ? 1 : 0;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
