// What enforcing a staged policy would change: the world as enforced now vs. the same world with
// that one policy enforced. For SecurityPolicy status and `vmsafe analyze`.
import type { SecurityPolicy } from '../api';
import { enforced } from '../policy/staged';
import type { TraceWorld } from '../policy/tracer';
import { diffAnalyses, type Diff } from './diff';
import { analyzeWorld } from './world';

export function stagedImpact(world: TraceWorld, policy: { namespace: string; name: string }, opts: { placed?: boolean } = {}): Diff {
  const is = (p: SecurityPolicy) => p.metadata.name === policy.name && (p.metadata.namespace ?? '') === policy.namespace;
  const base = analyzeWorld(world, opts);
  const head = analyzeWorld({ ...world, policies: world.policies.map((p) => (is(p) ? enforced(p) : p)) }, opts);
  return diffAnalyses(base, head, { base: base.compiled.filters, head: head.compiled.filters });
}
