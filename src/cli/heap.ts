// --heap-growth-percent of the long-running verbs (operator, apiserver, agent, dev): how far V8 may
// let the heap grow over what a full GC found live before it collects again.
//
// Why: V8 picks that factor itself (up to 4x when the process allocates fast), so an operator with
// 0.8 GiB live peaked at 2.1 GiB RSS during vmworld's cold start, most of it garbage waiting for a
// collection. A fixed, small factor keeps RSS near the live set at the price of more full marks: the
// memory-for-CPU dial Go's GOGC is for kube-apiserver. Measured at vmworld with 25: peak RSS API
// server 2.1 -> 1.5 GiB, operator 2.1 -> 1.5 GiB, agents 0.9 -> 0.75 GiB, but 1.3-1.9x the CPU and
// cold start 83 -> 149 s on 2 cores; so the default stays V8's own, for a memory-bound pod to lower.
// V8 reads the flag at every GC: setting it once the process runs takes effect at the next one.
import { setFlagsFromString } from 'node:v8';
import { Option } from 'commander';
import { SoftMemoryLimit, parseMemoryLimit } from '../runtime/memory-limit';
import type { Logger } from '../util/log';
import { int, InvalidArgumentError } from './program';

export const DEFAULT_HEAP_GROWTH_PERCENT = 0;

export function heapGrowthFlag(): Option {
  return new Option('--heap-growth-percent <n>', "let the heap grow this far over the live set before the next full GC: lower means less memory and more GC CPU (0: V8 decides, up to 300)")
    .argParser(int(0, 1000))
    .default(DEFAULT_HEAP_GROWTH_PERCENT);
}

export function applyHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/**
 * --memory-limit (or $VMSAFE_MEMORY_LIMIT): a soft limit on RSS, like Go's GOMEMLIMIT. V8 collects
 * sooner as the process nears it (src/runtime/memory-limit.ts); the container's hard limit goes above.
 */
export function memoryLimitFlag(): Option {
  return new Option('--memory-limit <bytes>', 'soft limit on memory (bytes, or 900Mi, 1Gi...): garbage is collected sooner as the process nears it (0: none)')
    .env('VMSAFE_MEMORY_LIMIT')
    .argParser((v) => {
      const n = parseMemoryLimit(v);
      if (n === undefined) throw new InvalidArgumentError('must be bytes or a quantity such as 1Gi or 1536Mi.');
      return n;
    });
}

/**
 * The process's heap policy: a fixed --heap-growth-percent, else a soft limit from --memory-limit,
 * else V8's own. Returns the limit to stop at shutdown, if one runs.
 */
export function applyHeapPolicy(flags: { heapGrowthPercent: number; memoryLimit?: number }, logger: Logger): SoftMemoryLimit | undefined {
  if (flags.heapGrowthPercent > 0) {
    applyHeapGrowth(flags.heapGrowthPercent);
    if (flags.memoryLimit) logger.warn({ heapGrowthPercent: flags.heapGrowthPercent }, '--heap-growth-percent is set: --memory-limit does not steer the heap');
    return undefined;
  }
  if (!flags.memoryLimit) return undefined;
  const limit = new SoftMemoryLimit({ limitBytes: flags.memoryLimit, logger }).start();
  logger.info({ limitMiB: Math.round(limit.targetBytes / 2 ** 20) }, 'soft memory limit');
  return limit;
}
