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
import { int } from './program';

export const DEFAULT_HEAP_GROWTH_PERCENT = 0;

export function heapGrowthFlag(): Option {
  return new Option('--heap-growth-percent <n>', "let the heap grow this far over the live set before the next full GC: lower means less memory and more GC CPU (0: V8 decides, up to 300)")
    .argParser(int(0, 1000))
    .default(DEFAULT_HEAP_GROWTH_PERCENT);
}

export function applyHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
