// `make bench` / `npm run bench -- [--scenario NAME]... [--out FILE|DIR] [--quick]`: runs benchmark
// scenarios, writes JSON. Each scenario is bench/scenarios/<name>.ts exporting `run(opts): Promise<object>`.
// The benchmarks are not part of the package: the CLI never imports bench/.
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BenchOptions } from './lib/options';
import { LAUNCH } from './lib/procs';
import { loadavg } from 'node:os';

export type { BenchOptions };

/** Scenarios in the order `make bench` runs them. */
export const SCENARIOS: Record<string, () => Promise<{ run(opts: BenchOptions): Promise<object> }>> = {
  classifier: () => import('./scenarios/classifier'),
  conntrack: () => import('./scenarios/conntrack'),
  'compile-max': () => import('./scenarios/compile-max'),
  apiserver: () => import('./scenarios/apiserver'),
  converge: () => import('./scenarios/converge'),
  vmworld: () => import('./scenarios/vmworld'),
  max: () => import('./scenarios/max'),
  'antrea-xl': () => import('./scenarios/antrea-xl'),
  cli: () => import('./scenarios/cli'),
  analyze: () => import('./scenarios/analyze'),
  ui: () => import('./scenarios/ui'),
  'apiserver-1g': () => import('./scenarios/apiserver-1g'),
};

/** Run only when named with --scenario (not by a plain `make bench`): they write gigabytes to disk. */
export const BY_NAME_ONLY = new Set(['apiserver-1g']);

export function machineInfo() {
  return { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryBytes: totalmem(), node: process.version };
}

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        scenario: { type: 'string', multiple: true },
        out: { type: 'string' },
        quick: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\nusage: npm run bench -- [--scenario NAME]... [--out FILE|DIR] [--quick]\n`);
    return 2;
  }
  const names = values.scenario ?? Object.keys(SCENARIOS).filter((n) => !BY_NAME_ONLY.has(n));
  for (const name of names) {
    if (!SCENARIOS[name]) {
      process.stderr.write(`bench: unknown scenario "${name}" (known: ${Object.keys(SCENARIOS).join(', ')})\n`);
      return 2;
    }
  }
  const opts: BenchOptions = { quick: values.quick, progress: (l) => process.stderr.write(`[bench] ${l}\n`) };
  for (const name of names) {
    opts.progress(`scenario ${name}`);
    const mod = await SCENARIOS[name]!();
    // Wall-clock figures depend on what else the machine was doing: say so beside them.
    const loadAverage1mAtStart = Math.round(loadavg()[0]! * 100) / 100;
    const launch = LAUNCH.built ? 'dist (the built JavaScript the package runs)' : 'tsx (TypeScript sources: run `npm run build` first to measure what ships)';
    const result = { scenario: name, ...(await mod.run(opts)), machine: machineInfo(), loadAverage1mAtStart, componentsRun: launch, at: new Date().toISOString() };
    const json = JSON.stringify(result, null, 2) + '\n';
    if (!values.out) process.stdout.write(json);
    else {
      // --out DIR (several scenarios, or an existing dir without .json) writes DIR/NAME.json.
      const file = values.out.endsWith('.json') && names.length === 1 ? values.out : join(values.out, `${name}.json`);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, json);
      opts.progress(`wrote ${file}`);
    }
  }
  return 0;
}

// Run as a program (`node --import tsx bench/run.ts`), not when a test imports SCENARIOS.
if (process.argv[1] && import.meta.filename === realpathSync(process.argv[1])) {
  run(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
