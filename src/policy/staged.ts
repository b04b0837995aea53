// Staged policies (spec.enforcement: Staged) are reported but not enforced: the one filter every
// evaluator (compiler input, reference evaluator) applies before anything else.
import type { SecurityPolicy } from '../api';

export const isEnforced = (p: SecurityPolicy): boolean => (p.spec.enforcement ?? 'Enforced') !== 'Staged';

/** The same policy, enforced (to ask "what would enforcing it change"). */
export const enforced = (p: SecurityPolicy): SecurityPolicy => ({ ...p, spec: { ...p.spec, enforcement: 'Enforced' } });
