// `vmsafe bench [--scenario NAME]... [--out FILE|DIR] [--quick]`: runs benchmark scenarios, writes JSON.
// Each scenario is bench/scenarios/<name>.ts exporting `run(opts): Promise<object>`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

export interface BenchOptions {
  /** Smaller sizes, for smoke tests. */
  quick: boolean;
  /** Progress lines go here (stderr). */
  progress: (line: string) => void;
}

/** Scenarios in the order `make bench` runs them. */
export const SCENARIOS: Record<string, () => Promise<{ run(opts: BenchOptions): Promise<object> }>> = {
  classifier: () => import('../../../bench/scenarios/classifier'),
  'compile-max': () => import('../../../bench/scenarios/compile-max'),
  apiserver: () => import('../../../bench/scenarios/apiserver'),
  converge: () => import('../../../bench/scenarios/converge'),
  vmworld: () => import('../../../bench/scenarios/vmworld'),
  max: () => import('../../../bench/scenarios/max'),
  'antrea-xl': () => import('../../../bench/scenarios/antrea-xl'),
  ui: () => import('../../../bench/scenarios/ui'),
};

export function machineInfo() {
  return { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryBytes: totalmem(), node: process.version };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: 'string', multiple: true },
      out: { type: 'string' },
      quick: { type: 'boolean', default: false },
    },
  });
  const names = values.scenario ?? Object.keys(SCENARIOS);
  for (const name of names) {
    if (!SCENARIOS[name]) {
      process.stderr.write(`vmsafe bench: unknown scenario "${name}" (known: ${Object.keys(SCENARIOS).join(', ')})\n`);
      return 2;
    }
  }
  const opts: BenchOptions = { quick: values.quick, progress: (l) => process.stderr.write(`[bench] ${l}\n`) };
  for (const name of names) {
    opts.progress(`scenario ${name}`);
    const mod = await SCENARIOS[name]!();
    const result = { scenario: name, ...(await mod.run(opts)), machine: machineInfo(), at: new Date().toISOString() };
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
