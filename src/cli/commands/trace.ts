// `vmsafe trace -f DIR --from NS/VM[/VNIC]|IP --to NS/VM[/VNIC]|IP --protocol P --port N [-o json]`
// `vmsafe trace -f DIR --probes FILE` (JSON lines in, JSON lines out).
//
// Offline verdict from manifests: VMs are placed as the operator would place them, every host's
// filter is compiled, each side of the packet is classified by its host's compiled classifier and
// cross-checked against the reference evaluator. Exit 0 = traced (whatever the verdict), 1 = bad
// input, 2 = usage, 3 = the compiled filter and the reference disagree (a bug: please report it).
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Host, SecurityPolicy, Tag, Tenant, VM } from '../../api';
import { decode } from '../../api';
import { buildClassifier } from '../../dataplane/classifier';
import { loadManifests } from '../../manifests/load';
import type { Decision, PacketProtocol, PacketVerdict } from '../../policy/decision';
import { placeOffline } from '../../policy/offline';
import { ReferenceEvaluator, type Endpoint, type Packet } from '../../policy/reference';
import { enforced, isEnforced } from '../../policy/staged';
import { Tracer, type TraceResult } from '../../policy/tracer';

const USAGE = `usage: vmsafe trace -f PATH [-f PATH...] --from NS/VM[/VNIC]|IP --to NS/VM[/VNIC]|IP --protocol TCP|UDP|SCTP|ICMP --port N [-o text|json]
       vmsafe trace -f PATH --probes FILE    (one {"from","to","protocol","port"} JSON object per line; JSON lines out)
`;

const PROTOCOLS: readonly PacketProtocol[] = ['TCP', 'UDP', 'SCTP', 'ICMP'];
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

class InputError extends Error {}

export function parseEndpoint(s: string): Endpoint {
  if (IPV4.test(s)) return { ip: s };
  const parts = s.split('/');
  if (parts.length === 2 && parts.every(Boolean)) return { vm: s };
  if (parts.length === 3 && parts.every(Boolean)) return { vm: `${parts[0]}/${parts[1]}`, vnic: parts[2] };
  throw new InputError(`"${s}" is neither NS/VM[/VNIC] nor an IPv4 address`);
}

export function parseProbe(p: { from?: unknown; to?: unknown; protocol?: unknown; port?: unknown }): Packet {
  if (typeof p.from !== 'string' || typeof p.to !== 'string') throw new InputError('"from" and "to" must be strings');
  const protocol = String(p.protocol ?? 'TCP').toUpperCase() as PacketProtocol;
  if (!PROTOCOLS.includes(protocol)) throw new InputError(`protocol must be one of ${PROTOCOLS.join(', ')}, got ${JSON.stringify(p.protocol)}`);
  const port = p.port === undefined || p.port === null ? (protocol === 'ICMP' ? 0 : NaN) : Number(p.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError(`port must be an integer 0-65535${protocol === 'ICMP' ? '' : ` (required for ${protocol})`}`);
  const pkt: Packet = { from: parseEndpoint(p.from), to: parseEndpoint(p.to), protocol, port };
  if (!('vm' in pkt.from) && !('vm' in pkt.to)) throw new InputError('at least one end must be a VM');
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

export function formatText(pkt: Packet, r: TraceResult): string {
  const v = r.compiled;
  const what = pkt.protocol === 'ICMP' ? 'ICMP' : `${pkt.protocol}/${pkt.port}`;
  const lines = [`${v.verdict}  ${describeEnd(pkt.from)} -> ${describeEnd(pkt.to)}  ${what}`];
  lines.push(
    v.egress
      ? `  egress  at ${describeEnd(pkt.from)} (host ${r.hosts.egress}): ${describeDecision(v.egress)}`
      : `  egress  ${describeEnd(pkt.from)} is not a vNIC: not filtered`,
  );
  lines.push(
    v.ingress
      ? `  ingress at ${describeEnd(pkt.to)} (host ${r.hosts.ingress}): ${describeDecision(v.ingress)}`
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

interface World {
  tenants: Tenant[];
  tags: Tag[];
  hosts: Host[];
  vms: VM[];
  policies: SecurityPolicy[];
}

/** Load and decode manifests; objects of other kinds (Namespace, HostFilter…) are ignored. */
export async function loadWorld(paths: string[]): Promise<{ world: World; errors: string[] }> {
  const loaded = await loadManifests(paths);
  const errors = loaded.errors.map((e) => `${e.file}${e.line !== undefined ? `:${e.line}` : ''}: ${e.message}`);
  const world: World = { tenants: [], tags: [], hosts: [], vms: [], policies: [] };
  for (const o of loaded.objects) {
    const kind = (o.object as { kind?: unknown })?.kind;
    const apiVersion = String((o.object as { apiVersion?: unknown })?.apiVersion ?? '');
    if (!apiVersion.startsWith('vmsafe.io/') || !['Tenant', 'Tag', 'Host', 'VM', 'SecurityPolicy'].includes(String(kind))) continue;
    const d = decode(o.object);
    if (!d.ok) {
      errors.push(`${o.file}:${o.line}: ${kind}: ${d.errors.map((e) => `${e.path ? `${e.path}: ` : ''}${e.message}`).join('; ')}`);
      continue;
    }
    if (kind === 'Tenant') world.tenants.push(d.value);
    else if (kind === 'Tag') world.tags.push(d.value);
    else if (kind === 'Host') world.hosts.push(d.value);
    else if (kind === 'VM') world.vms.push(d.value);
    else world.policies.push(d.value);
  }
  return { world, errors };
}

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        filename: { type: 'string', short: 'f', multiple: true },
        from: { type: 'string' },
        to: { type: 'string' },
        protocol: { type: 'string', default: 'TCP' },
        port: { type: 'string' },
        output: { type: 'string', short: 'o', default: 'text' },
        probes: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`vmsafe trace: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const usage = (msg: string) => {
    process.stderr.write(`vmsafe trace: ${msg}\n${USAGE}`);
    return 2;
  };
  if (!values.filename?.length) return usage('no manifests (-f PATH)');
  if (values.output !== 'text' && values.output !== 'json') return usage(`-o must be text or json, got "${values.output}"`);
  if (!values.probes && (!values.from || !values.to)) return usage('--from and --to are required (or --probes FILE)');

  // Parse the probe(s) before the (possibly large) manifests, so typos fail fast.
  let single: Packet | undefined;
  if (!values.probes) {
    try {
      single = parseProbe({ from: values.from, to: values.to, protocol: values.protocol, port: values.port });
    } catch (err) {
      if (err instanceof InputError) return usage(err.message);
      throw err;
    }
  }

  const { world, errors } = await loadWorld(values.filename);
  if (errors.length > 0) {
    process.stderr.write(errors.map((e) => `${e}\n`).join('') + `vmsafe trace: ${errors.length} invalid manifest(s)\n`);
    return 1;
  }
  const placement = placeOffline(world);
  const tracer = new Tracer({ ...world, vms: placement.vms }, (spec) => buildClassifier(spec));
  // Staged policies: the verdict if every one of them were enforced, shown beside the enforced one.
  const staged = world.policies.some((p) => !isEnforced(p))
    ? new ReferenceEvaluator({ ...world, vms: placement.vms, policies: world.policies.map(enforced) })
    : null;
  const withStaged = (pkt: Packet, json: object): object => (staged ? { ...json, staged: verdictJson(staged.evaluate(pkt)) } : json);
  const traceOne = (pkt: Packet): TraceResult => {
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
    let r: TraceResult;
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
  let text: string;
  try {
    text = values.probes === '-' ? await readStdin() : await readFile(values.probes!, 'utf8');
  } catch (err) {
    process.stderr.write(`vmsafe trace: cannot read ${values.probes}: ${(err as Error).message}\n`);
    return 1;
  }
  const out: string[] = [];
  let bad = 0;
  let bugs = 0;
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch {
        throw new InputError('not a JSON object');
      }
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new InputError('not a JSON object');
      const pkt = parseProbe(obj as Record<string, unknown>);
      const r = traceOne(pkt);
      if (!r.agree) {
        bugs++;
        process.stderr.write(disagreement(pkt, r));
        out.push(JSON.stringify({ error: 'compiled filter and reference evaluator disagree', compiled: verdictJson(r.compiled), reference: verdictJson(r.reference) }));
        return;
      }
      out.push(JSON.stringify(withStaged(pkt, verdictJson(r.compiled))));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      bad++;
      process.stderr.write(`vmsafe trace: ${values.probes}:${i + 1}: ${err.message}\n`);
      out.push(JSON.stringify({ error: err.message }));
    }
  });
  process.stdout.write(out.map((l) => l + '\n').join(''));
  return bugs > 0 ? 3 : bad > 0 ? 1 : 0;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
