// `vmsafe trace -f DIR --from NS/VM[/VNIC]|IP --to NS/VM[/VNIC]|IP --protocol P --port N [-o json]`
// `vmsafe trace -f DIR --probes FILE` (JSON lines in, JSON lines out).
// `vmsafe trace --live [--kubeconfig PATH] --from ... | --probes FILE`: the same, from the cluster.
//
// Offline verdict from manifests: VMs are placed as the operator would place them, the endpoints'
// hosts' filters are compiled, each side of the packet is classified by its host's compiled classifier
// and cross-checked against the reference evaluator. Live verdict (policy/trace-live.ts): each side
// is classified by the HostFilter (and shared AddressGroups) the cluster holds for its VM's host now.
// Exit 0 = traced (whatever the verdict), 1 = bad input (or the cluster cannot be read), 2 = usage,
// 3 = the compiled filter and the reference disagree (a bug: please report it).
import { readFile } from 'node:fs/promises';
import { buildClassifier } from '../../dataplane/classifier';
import { isAddressRefusal, unboundVerdict } from '../../policy/offline';
import type { PacketVerdict } from '../../policy/decision';
import { ReferenceEvaluator, type Packet } from '../../policy/reference';
import { enforced, isEnforced } from '../../policy/staged';
import { offlineTrace } from '../../policy/trace-offline';
import { disagreement, formatText, parseProbe, ProbeError as InputError, verdictJson } from '../../policy/trace-format';
import type { TraceResult } from '../../policy/tracer';
import { progressLine } from '../../util/progress';
import { act, collect, Command, Option, runCommand, verb } from '../program';

export function command(): Command {
  return verb('trace', 'verdict for a packet, from manifests (-f) or the cluster (--live)')
    .usage('(-f PATH | --live) --from END --to END [--protocol P] [--port N] [-o text|json]  |  (-f PATH | --live) --probes FILE')
    .addHelpText('after', `\nAn END is NS/VM[/VNIC] or an IPv4 address. --probes FILE (or -) reads one {"from","to","protocol","port"}\n(optionally "srcIp","srcMac") JSON object per line and writes one JSON verdict per line. Exit 0 traced, 1 bad input, 2 usage, 3 a bug.`)
    .option('-f, --filename <path>', 'manifests: file, directory or - (repeatable)', collect)
    .option('--live', "trace against the cluster's HostFilters and AddressGroups (what is enforced now)", false)
    .option('--kubeconfig <path>', 'with --live: this kubeconfig (default $KUBECONFIG, else ~/.kube/config)')
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
  live: boolean;
  kubeconfig?: string;
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
  if (values.live && values.filename?.length) return usage('-f and --live are exclusive');
  if (!values.live && values.kubeconfig !== undefined) return usage('--kubeconfig needs --live');
  if (!values.live && !values.filename?.length) return usage('no input: -f PATH (manifests) or --live (the cluster)');
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
  let probes: Probe[] = [];
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

  const packets = single ? [single] : probes.flatMap((p) => (p.pkt ? [p.pkt] : []));
  let engine: Engine;
  try {
    engine = values.live ? await liveEngine(values.kubeconfig) : await offlineEngine(values.filename!, packets);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    process.stderr.write(`vmsafe trace: ${err.message}\n`);
    return 1;
  }
  try {
    return await answer(values, engine, single, probes);
  } finally {
    engine.close?.();
  }
}

/** One packet's result, and the staged verdict beside it (offline, when there are staged policies). */
interface Engine {
  traceOne(pkt: Packet): Promise<TraceResult & { unbound?: string; pending?: string[] }>;
  staged?(pkt: Packet): PacketVerdict;
  close?(): void;
}

type Probe = { line: number; pkt?: Packet; error?: string };

/** Offline: read the manifests, place the VMs the endpoints compete with, compile what the packets need. */
async function offlineEngine(paths: string[], packets: Packet[]): Promise<Engine> {
  const progress = progressLine('vmsafe trace');
  const read = await offlineTrace(paths, packets, (spec) => buildClassifier(spec), progress);
  progress.done();
  if (!('tracer' in read)) {
    process.stderr.write(read.errors.map((e) => `${e}\n`).join(''));
    throw new InputError(`${read.errors.length} invalid manifest(s)`);
  }
  const { world, placement, tracer } = read;
  // Staged policies: the verdict if every one of them were enforced, shown beside the enforced one.
  const staged = world.policies.some((p) => !isEnforced(p))
    ? new ReferenceEvaluator({ ...world, vms: placement.vms, policies: world.policies.map(enforced) })
    : null;
  return {
    ...(staged ? { staged: (pkt: Packet) => staged.evaluate(pkt) } : {}),
    async traceOne(pkt) {
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
    },
  };
}

/** Live: the cluster's HostFilters and shared AddressGroups, read as the packets need them. */
async function liveEngine(kubeconfig: string | undefined): Promise<Engine> {
  // Loaded only here: the Kubernetes client is a second of start-up an offline trace does not need.
  const [{ KubeClient }, { LiveTracer, kubeSource }] = await Promise.all([import('../../runtime/client'), import('../../policy/trace-live')]);
  let client: InstanceType<typeof KubeClient>;
  try {
    client = new KubeClient(kubeconfig !== undefined ? { file: kubeconfig } : undefined, { requestTimeoutMs: 15_000 });
  } catch (err) {
    throw new InputError(`--live: cannot load the kubeconfig${kubeconfig ? ` ${kubeconfig}` : ''}: ${(err as Error).message.split('\n')[0]}`);
  }
  const live = new LiveTracer(kubeSource(client));
  return {
    async traceOne(pkt) {
      try {
        return await live.trace(pkt);
      } catch (err) {
        if (err instanceof InputError) throw err;
        // The API server's answer (forbidden, unreachable...): one line, named as such.
        throw new InputError(`--live: ${(err as Error).message.split('\n')[0]}`);
      }
    },
    close: () => client.close(),
  };
}

async function answer(values: TraceFlags, engine: Engine, single: Packet | undefined, probes: Probe[]): Promise<number> {
  const withStaged = (pkt: Packet, json: object): object => (engine.staged ? { ...json, staged: verdictJson(engine.staged(pkt)) } : json);
  const withPending = (r: { pending?: string[] }, json: object): object => (r.pending?.length ? { ...json, pending: r.pending } : json);
  const traceOne = engine.traceOne;

  if (single) {
    let r: TraceResult & { unbound?: string; pending?: string[] };
    try {
      r = await traceOne(single);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      process.stderr.write(`vmsafe trace: ${err.message}\n`);
      return 1;
    }
    if (!r.agree) {
      process.stderr.write(disagreement(single, r));
      return 3;
    }
    const stagedLine = engine.staged ? `  staged (if enforced): ${formatText(single, { ...r, compiled: engine.staged(single) }).replace(/\n {2}/g, '\n    ')}` : '';
    const pendingLine = r.pending?.length ? `  pending: the agent of ${r.pending.join(', ')} has not applied this compile yet (the verdict is what it will enforce)\n` : '';
    process.stdout.write(values.output === 'json' ? JSON.stringify(withPending(r, withStaged(single, verdictJson(r.compiled)))) + '\n' : formatText(single, r) + stagedLine + pendingLine);
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
      const r = await traceOne(pkt);
      if (!r.agree) {
        bugs++;
        process.stderr.write(disagreement(pkt, r));
        out.push(JSON.stringify({ error: 'compiled filter and reference evaluator disagree', compiled: verdictJson(r.compiled), reference: verdictJson(r.reference) }));
        continue;
      }
      out.push(JSON.stringify(withPending(r, withStaged(pkt, verdictJson(r.compiled)))));
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
