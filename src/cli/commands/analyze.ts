// `vmsafe analyze -f PATH... | --live [-o text|json] [--expect FILE]`: exact cross-tenant
// reachability of the whole cloud, from manifests (placed and compiled offline, like `vmsafe trace`)
// or from the cluster's compiled HostFilters and AddressGroups (--live).
// Exit 0 = analyzed (and, with --expect, nothing outside it is reachable), 1 = a reachable pair or
// port outside --expect, 2 = usage or unreadable / invalid input.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { analyze, formatRanges, fromRanges, type Reachability } from '../../analyze';
import { subtract, type PortSet } from '../../analyze/ports';
import { analyzeWorld } from '../../analyze/world';
import type { AddressGroupShardSpec, HostFilterSpec, Tenant } from '../../api';
import { KubeClient } from '../../runtime/client';
import { loadTraceWorld as loadWorld } from '../../policy/trace-offline';
import { act, collect, Command, Option, runCommand, verb } from '../program';

class InputError extends Error {}

interface Expected {
  from: string;
  to: string;
  /** null: any port. */
  ports: PortSet | null;
}

/** Parse the --expect file; one-line errors naming the entry. */
export function parseExpect(text: string, file: string): Expected[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new InputError(`${file}: not YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const list = Array.isArray(doc) ? doc : (doc as { pairs?: unknown } | null)?.pairs;
  if (!Array.isArray(list)) throw new InputError(`${file}: expected a list of {from, to} or an object with "pairs"`);
  return list.map((e: unknown, i) => {
    const o = e as { from?: unknown; to?: unknown; ports?: unknown };
    if (typeof o !== 'object' || o === null || typeof o.from !== 'string' || typeof o.to !== 'string')
      throw new InputError(`${file}: pairs[${i}]: "from" and "to" must be tenant names`);
    if (o.ports === undefined) return { from: o.from, to: o.to, ports: null };
    if (!Array.isArray(o.ports)) throw new InputError(`${file}: pairs[${i}].ports: must be a list of {protocol, from, to}`);
    for (const [j, p] of (o.ports as { protocol?: unknown; from?: unknown; to?: unknown }[]).entries()) {
      if (!['TCP', 'UDP', 'SCTP', 'ICMP'].includes(String(p?.protocol))) throw new InputError(`${file}: pairs[${i}].ports[${j}].protocol: must be TCP, UDP, SCTP or ICMP`);
      for (const k of ['from', 'to'] as const)
        if (p[k] !== undefined && !(Number.isInteger(p[k]) && (p[k] as number) >= 0 && (p[k] as number) <= 65535))
          throw new InputError(`${file}: pairs[${i}].ports[${j}].${k}: must be a port 0-65535`);
    }
    return { from: o.from, to: o.to, ports: fromRanges(o.ports as never) };
  });
}

/** Reachable pairs (or ports) that the expectation does not allow. */
export function violations(r: Reachability, expected: Expected[]): { from: string; to: string; ports: PortSet }[] {
  const allowed = new Map<string, Expected>();
  for (const e of expected) {
    const k = `${e.from}\u0000${e.to}`;
    const prev = allowed.get(k);
    // Several entries for one pair add up; one without ports allows every port.
    const ports = !prev ? e.ports : prev.ports === null || e.ports === null ? null : fromRanges([...toList(prev.ports), ...toList(e.ports)]);
    allowed.set(k, { ...e, ports });
  }
  const out: { from: string; to: string; ports: PortSet }[] = [];
  for (const p of r.pairs) {
    const e = allowed.get(`${p.from}\u0000${p.to}`);
    const have = fromRanges(p.ports);
    const extra = !e ? have : e.ports === null ? [] : subtract(have, e.ports);
    if (extra.length > 0) out.push({ from: p.from, to: p.to, ports: extra });
  }
  return out;
}
const toList = (s: PortSet) => s.map(([p, lo, hi]) => ({ protocol: (['TCP', 'UDP', 'SCTP', 'ICMP'] as const)[p]!, from: lo, to: hi }));

export function formatReachability(r: Reachability): string {
  const lines = [`${r.tenants} tenants, ${r.vnics} vNICs, ${r.programs} distinct programs: ${r.pairs.length} cross-tenant pair(s) reachable`];
  for (const p of r.pairs) {
    const w = p.witness;
    lines.push(`  ${p.from} -> ${p.to}  ${formatRanges(fromRanges(p.ports))}`);
    lines.push(`    e.g. ${w.from} -> ${w.to} ${w.protocol === 'ICMP' ? 'ICMP' : `${w.protocol}/${w.port}`}` +
      ` (egress ${w.egress?.policy ?? w.egress?.tier}/${w.egress?.rule}, ingress ${w.ingress.policy ?? w.ingress.tier}/${w.ingress.rule})`);
  }
  lines.push(`${r.outside.length} tenant(s) reachable from outside addresses`);
  for (const o of r.outside) {
    const w = o.witness;
    lines.push(`  ${o.tenant}  ${formatRanges(fromRanges(o.ports))}  e.g. ${w.from} -> ${w.to} ${w.protocol === 'ICMP' ? 'ICMP' : `${w.protocol}/${w.port}`} (${w.ingress.policy ?? w.ingress.tier}/${w.ingress.rule})`);
  }
  return lines.join('\n') + '\n';
}

/** The cluster's compiled state: HostFilters, shared AddressGroup shards, and namespace owners. */
async function analyzeLive(): Promise<Reachability> {
  const client = new KubeClient();
  try {
    const [filters, shards, tenants] = await Promise.all([
      client.kind<{ metadata: { name: string }; spec: HostFilterSpec }>('HostFilter').list(),
      client.kind<{ metadata: { name: string }; spec: AddressGroupShardSpec }>('AddressGroup').list(),
      client.kind<Tenant>('Tenant').list(),
    ]);
    const shared = new Map<string, string[]>();
    for (const s of shards.items) shared.set(s.spec.group, [...(shared.get(s.spec.group) ?? []), ...s.spec.addresses]);
    // The namespace owner, as the operator decides it: the smallest tenant name that claims it.
    const owners = new Map<string, string>();
    for (const t of [...tenants.items].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1)))
      for (const ns of t.spec.namespaces?.length ? t.spec.namespaces : [t.metadata.name]) if (!owners.has(ns)) owners.set(ns, t.metadata.name);
    return analyze({
      filters: filters.items.map((f) => f.spec),
      sharedGroups: shared,
      tenantOf: (vm) => owners.get(vm.slice(0, vm.indexOf('/'))) ?? null,
      tenants: tenants.items.length,
    }).result;
  } finally {
    client.close();
  }
}

export function command(): Command {
  return verb('analyze', 'exact cross-tenant reachability (-f DIR or --live), with witnesses')
    .usage('(-f PATH [-f PATH...] | --live) [-o text|json] [--expect FILE]')
    .addHelpText('after', '\nExit 0 analyzed (and, with --expect, nothing outside it reachable), 1 a pair or port outside --expect is reachable, 2 usage or bad input.')
    .option('-f, --filename <path>', 'manifests: file, directory or - (repeatable)', collect)
    .option('--live', "analyze the cluster's compiled HostFilters (kubeconfig as kubectl finds it)", false)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--expect <file>', 'the allowed pairs (YAML or JSON: a list of {from, to[, ports]}, or analyze -o json output)')
    .action(act(analyzeCommand));
}

export const run = (argv: string[]) => runCommand(command(), argv);

interface AnalyzeFlags {
  filename?: string[];
  live: boolean;
  output: 'text' | 'json';
  expect?: string;
}

async function analyzeCommand(values: AnalyzeFlags): Promise<number> {
  const usage = (msg: string) => {
    process.stderr.write(`vmsafe analyze: ${msg} (see vmsafe analyze --help)\n`);
    return 2;
  };
  if (!values.live && !values.filename?.length) return usage('no input: -f PATH or --live');
  if (values.live && values.filename?.length) return usage('-f and --live are exclusive');

  try {
    let expected: Expected[] | undefined;
    if (values.expect !== undefined) {
      let text: string;
      try {
        text = await readFile(values.expect, 'utf8');
      } catch (err) {
        throw new InputError(`--expect: cannot read ${values.expect}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      expected = parseExpect(text, values.expect);
    }
    let result: Reachability;
    if (values.live) {
      try {
        result = await analyzeLive();
      } catch (err) {
        throw new InputError(`--live: ${(err as Error).message.split('\n')[0]}`);
      }
    } else {
      const { world, errors } = await loadWorld(values.filename!);
      if (errors.length > 0) {
        process.stderr.write(errors.map((e) => `${e}\n`).join(''));
        throw new InputError(`${errors.length} invalid manifest(s)`);
      }
      result = analyzeWorld(world).result;
    }
    process.stdout.write(values.output === 'json' ? JSON.stringify(result, null, 2) + '\n' : formatReachability(result));
    if (expected) {
      const bad = violations(result, expected);
      for (const v of bad) process.stderr.write(`vmsafe analyze: not expected: ${v.from} -> ${v.to} ${formatRanges(v.ports)}\n`);
      if (bad.length > 0) {
        process.stderr.write(`vmsafe analyze: ${bad.length} reachable pair(s) outside ${values.expect}\n`);
        return 1;
      }
    }
    return 0;
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    process.stderr.write(`vmsafe analyze: ${err.message}\n`);
    return 2;
  }
}
