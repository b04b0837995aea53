// SIGKILL at random moments (some while a snapshot is being written, the log being tiny): every
// acknowledged create and delete survives each restart. bench/crash.ts runs 20 rounds and reports.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { crashRounds } from '../../bench/lib/crash';

const dir = mkdtempSync(join(tmpdir(), 'vmsafe-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('vmsafe apiserver --data-dir under SIGKILL', () => {
  it('loses no acknowledged write or delete over 2 kills, one while a snapshot is being written', async () => {
    const r = await crashRounds({ dir, rounds: 2, killAfterMs: [300, 900], compactBytes: 256 * 1024, writers: 3, payloadBytes: 4096 });
    expect(r.problems).toEqual([]);
    expect(r.lostWrites).toBe(0);
    expect(r.resurrectedDeletes).toBe(0);
    expect(r.rounds).toBe(2);
    expect(r.acknowledgedWrites).toBeGreaterThan(30);
    expect(r.killsDuringCompaction).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
