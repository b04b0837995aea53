// The Trace view's answer: the same computation as `vmsafe trace` (the policy Tracer: each side on its
// host's compiled classifier, cross-checked with the reference evaluator), but over the dashboard's
// watched cache, with VMs where their status says they run. The tracer is rebuilt only when a Tenant,
// Tag, Host, VM or SecurityPolicy changed since the last trace.
// The probe parsing and the text format are src/policy/trace-format.ts (one wording with the CLI).
import { buildClassifier } from '../dataplane/classifier';
import { Tracer } from '../policy/tracer';
import { formatText, parseProbe } from '../policy/trace-format';
import type { FleetModel } from './model';
import type { TraceAnswer } from './page/types';

export class TraceInputError extends Error {}

export class LiveTracer {
  private tracer: Tracer | undefined;
  private builtAt = -1;
  constructor(
    private readonly model: FleetModel,
    private readonly version: () => number,
    private readonly providerNamespace?: string,
  ) {}

  private current(): Tracer {
    const v = this.version();
    if (!this.tracer || v !== this.builtAt) {
      const m = this.model;
      this.tracer = new Tracer(
        {
          tenants: [...m.tenants.values()],
          tags: [...m.tags.values()],
          hosts: [...m.hosts.values()],
          vms: [...m.vms.values()],
          policies: [...m.policies.values()],
          providerNamespace: this.providerNamespace,
        },
        (spec) => buildClassifier(spec),
      );
      this.builtAt = v;
    }
    return this.tracer;
  }

  /** Throws TraceInputError for what the person typed (unknown VM, bad port, unplaced VM). */
  trace(q: { from?: unknown; to?: unknown; protocol?: unknown; port?: unknown }): TraceAnswer {
    let pkt;
    try {
      pkt = parseProbe({ ...q, port: q.port === '' ? undefined : q.port });
    } catch (err) {
      throw new TraceInputError((err as Error).message);
    }
    for (const end of [pkt.from, pkt.to]) {
      if (!('vm' in end)) continue;
      const vm = this.model.vms.get(end.vm);
      if (!vm) throw new TraceInputError(`no VM ${end.vm}`);
      if (!vm.status?.hostName) throw new TraceInputError(`VM ${end.vm} is not placed (phase ${vm.status?.phase ?? 'Pending'})`);
    }
    let r;
    try {
      r = this.current().trace(pkt);
    } catch (err) {
      throw new TraceInputError((err as Error).message);
    }
    if (!r.agree) throw new Error(`the compiled filter and the reference evaluator disagree on this packet (a bug: please report it)`);
    const side = (d: typeof r.compiled.egress, host: string | null) => (d ? { verdict: d.verdict, tier: d.tier, policy: d.policy, rule: d.rule, host } : null);
    return {
      verdict: r.compiled.verdict,
      egress: side(r.compiled.egress, r.hosts.egress),
      ingress: side(r.compiled.ingress, r.hosts.ingress),
      text: formatText(pkt, r),
    };
  }
}
