// The soft memory limit the bench runs the operator under: the VMSAFE_MEMORY_LIMIT that
// manifests/operator.yaml gives the operator container, so the bench measures the operator as it is
// deployed. VMSAFE_BENCH_OPERATOR_MEMORY_LIMIT overrides it (0: none).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { parseMemoryLimit, parseMemoryQuantity } from '../../src/runtime/memory-limit';
import { REPO } from './procs';

interface Deployment {
  kind?: string;
  spec?: { template?: { spec?: { containers?: Array<{ name?: string; env?: Array<{ name?: string; value?: unknown }> }> } } };
}

/** The operator container's VMSAFE_MEMORY_LIMIT in manifests/operator.yaml, in bytes. */
export function manifestOperatorMemoryLimit(text = readFileSync(join(REPO, 'manifests/operator.yaml'), 'utf8')): number | undefined {
  for (const doc of loadAll(text) as Deployment[]) {
    if (doc?.kind !== 'Deployment') continue;
    const c = doc.spec?.template?.spec?.containers?.find((x) => x.name === 'operator');
    const v = c?.env?.find((e) => e.name === 'VMSAFE_MEMORY_LIMIT')?.value;
    if (v !== undefined) return parseMemoryQuantity(String(v));
  }
  return undefined;
}

/** Bytes, or 0 for none. */
export function benchOperatorMemoryLimit(env = process.env): number {
  const v = env.VMSAFE_BENCH_OPERATOR_MEMORY_LIMIT;
  if (v !== undefined && v !== '') {
    const n = parseMemoryLimit(v);
    if (n === undefined) throw new Error(`VMSAFE_BENCH_OPERATOR_MEMORY_LIMIT: not a memory quantity: ${v}`);
    return n;
  }
  return manifestOperatorMemoryLimit() ?? 0;
}
