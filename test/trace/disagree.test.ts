// A compiled filter that disagrees with the reference evaluator is a bug: exit 3, say so.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it, vi } from 'vitest';
import { host, tenant, vm } from '../policy/builders';

// A broken classifier: allows everything with a made-up rule.
vi.mock('../../src/dataplane/classifier', () => ({
  buildClassifier: () => ({ classify: () => ({ verdict: 'Allow', tier: 'Provider', policy: null, rule: 'bogus' }) }),
}));

it('exits 3 when the compiled classifier and the reference disagree', async () => {
  const { run } = await import('../../src/cli/commands/trace');
  const dir = mkdtempSync(join(tmpdir(), 'vmsafe-trace-'));
  try {
    const objs = [tenant('a'), tenant('b'), host('h1'), vm('x').inTenant('a').onHost('h1').withIps('10.0.0.1').build(), vm('y').inTenant('b').onHost('h1').withIps('10.0.0.2').build()];
    writeFileSync(join(dir, 'w.json'), JSON.stringify(objs));
    let err = '';
    const o = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
    const code = await run(['-f', dir, '--from', 'a/x', '--to', 'b/y', '--port', '80']);
    o.mockRestore();
    e.mockRestore();
    expect(code).toBe(3);
    expect(err).toContain('disagree');
    expect(err).toContain('"rule":"default-deny"');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
