// The ui benchmark's model-fed page measurement at a tiny size: it draws every host, measures bytes,
// sees each change drawn, and writes a PNG screenshot (so the vmworld figures' code path is tested).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runUiPage } from '../../bench/scenarios/ui-page';
import { QUICK } from '../../bench/scenarios/vmworld';

describe('bench ui, model feed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmsafe-ui-bench-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('measures navigation, bytes, changes and memory, and saves the screenshot', async () => {
    const screenshot = join(dir, 'fleet.png');
    const r = (await runUiPage(QUICK, { quick: true, progress: () => undefined, changes: 3, screenshot })) as any;
    expect(r.size).toMatchObject({ hosts: QUICK.hosts, vms: QUICK.vms, tenants: QUICK.tenants });
    expect(r.navigation.ms).toBeGreaterThan(0);
    expect(r.navigation.bytes).toBeGreaterThan(10_000);
    expect(r.change.changes).toBe(3);
    expect(r.change.fromModelUpdateDoneMs.n).toBe(3);
    expect(r.browserPssMiB.afterLoad).toBeGreaterThan(10);
    expect(readFileSync(screenshot).subarray(1, 4).toString()).toBe('PNG');
  }, 60_000);
});
