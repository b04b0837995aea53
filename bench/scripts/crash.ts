// 20 random SIGKILLs of `vmsafe apiserver --data-dir` while clients write (some during compaction):
// acknowledged writes lost, startup times. `npx tsx bench/scripts/crash.ts [ROUNDS]` prints JSON.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crashRounds } from '../lib/crash';

const rounds = Number(process.argv[2] ?? 20);
const dir = mkdtempSync(join(tmpdir(), 'vmsafe-crash-bench-'));
try {
  const r = await crashRounds({ dir, rounds, killAfterMs: [200, 2500], compactBytes: 1024 * 1024, writers: 4, payloadBytes: 8192 });
  const sorted = [...r.startupMs].sort((a, b) => a - b);
  process.stdout.write(JSON.stringify({ ...r, startupMsMedian: sorted[Math.floor(sorted.length / 2)], startupMsMax: sorted.at(-1) }, null, 2) + '\n');
  process.exitCode = r.lostWrites || r.resurrectedDeletes ? 1 : 0;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
