// Benchmark scenario "vmworld": not built yet.
import type { BenchOptions } from '../../src/cli/commands/bench';

export async function run(_opts: BenchOptions): Promise<object> {
  return { status: 'not implemented' };
}
