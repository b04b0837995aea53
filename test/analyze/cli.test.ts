// `vmsafe analyze` and `vmsafe diff` in process, on examples/ and three pull requests against it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run as analyze } from '../../src/cli/commands/analyze';
import { run as diff } from '../../src/cli/commands/diff';
import { run as trace } from '../../src/cli/commands/trace';
import { prDir } from './prs';
import { capture } from '../helpers/capture';

afterEach(() => vi.restoreAllMocks());

describe('vmsafe analyze', () => {
  it('finds acme -> globex on TCP/443 in examples/, and every witness traces to Allow', async () => {
    const r = await capture(() => analyze(['-f', 'examples', '-o', 'json']));
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out);
    expect(res.tenants).toBe(3);
    expect(res.pairs.map((p: { from: string; to: string; ports: unknown }) => [p.from, p.to, p.ports])).toEqual([
      ['acme', 'globex', [{ protocol: 'TCP', from: 443, to: 443 }]],
    ]);
    expect(res.outside.map((o: { tenant: string }) => o.tenant)).toEqual(['acme', 'globex', 'initech']);
    const witnesses = [...res.pairs, ...res.outside].map((p: { witness: { from: string; to: string; protocol: string; port: number } }) => p.witness);
    for (const w of witnesses) {
      const t = await capture(() => trace(['-f', 'examples', '--from', w.from, '--to', w.to, '--protocol', w.protocol, '--port', String(w.port), '-o', 'json']));
      expect([w, t.code, JSON.parse(t.out).verdict]).toEqual([w, 0, 'Allow']);
    }
  });

  it('--expect: exit 0 when every pair is expected, 1 naming the pair otherwise, 2 on a bad file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmsafe-expect-'));
    try {
      writeFileSync(join(dir, 'ok.yaml'), '- { from: acme, to: globex, ports: [{ protocol: TCP, from: 443, to: 443 }] }\n');
      writeFileSync(join(dir, 'narrow.yaml'), 'pairs:\n  - { from: acme, to: globex, ports: [{ protocol: TCP, from: 80, to: 80 }] }\n');
      writeFileSync(join(dir, 'none.yaml'), '[]\n');
      writeFileSync(join(dir, 'bad.yaml'), '- { from: acme }\n');
      expect((await capture(() => analyze(['-f', 'examples', '--expect', join(dir, 'ok.yaml')]))).code).toBe(0);
      const narrow = await capture(() => analyze(['-f', 'examples', '--expect', join(dir, 'narrow.yaml')]));
      expect(narrow.code).toBe(1);
      expect(narrow.err).toContain('not expected: acme -> globex TCP/443');
      expect((await capture(() => analyze(['-f', 'examples', '--expect', join(dir, 'none.yaml')]))).code).toBe(1);
      const bad = await capture(() => analyze(['-f', 'examples', '--expect', join(dir, 'bad.yaml')]));
      expect([bad.code, bad.err.trim().split('\n').length]).toEqual([2, 1]);
      expect(bad.err).toContain('pairs[0]: "from" and "to" must be tenant names');
      expect((await capture(() => analyze(['--live', '-f', 'examples']))).code).toBe(2);
      expect((await capture(() => analyze(['-f', 'examples', '-o', 'yaml']))).err).toContain("argument 'yaml' is invalid. Allowed choices are text, json");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('vmsafe diff on three pull requests', () => {
  it('a new cross-tenant allow opens acme -> globex TCP/8443 (and --fail-on-opened exits 1)', async () => {
    const head = prDir('new-cross-tenant-allow');
    const r = await capture(() => diff(['--base', 'examples', '--head', head, '-o', 'json', '--fail-on-opened']));
    expect(r.code).toBe(1);
    const d = JSON.parse(r.out);
    expect(d.opened).toEqual([{ from: 'acme', to: 'globex', ports: [{ protocol: 'TCP', from: 8443, to: 8443 }] }]);
    expect(d.closed).toEqual([]);
    expect(d.vmsChanged).toEqual(['acme/app-1', 'globex-prod/api-1']);
    expect(d.hostsChanged).toBeGreaterThan(0);
  });

  it('a tightened Provider rule closes ICMP from outside to globex and opens nothing', async () => {
    const head = prDir('tighten-provider-rule');
    const r = await capture(() => diff(['--base', 'examples', '--head', head, '-o', 'json', '--fail-on-opened']));
    expect(r.code).toBe(0);
    const d = JSON.parse(r.out);
    expect([d.opened, d.closed, d.outsideOpened]).toEqual([[], [], []]);
    expect(d.outsideClosed).toEqual([{ from: 'outside', to: 'globex', ports: [{ protocol: 'ICMP' }] }]);
    expect(d.vmsChanged).toEqual(['globex-prod/ledger-db']);
  });

  it('a VM losing a tag closes acme -> globex and changes the span of the policies that selected it', async () => {
    const head = prDir('move-vm-tags');
    const r = await capture(() => diff(['--base', 'examples', '--head', head]));
    expect(r.code).toBe(0);
    expect(r.out).toContain('closed (cross-tenant):\n  acme -> globex  TCP/443');
    const j = JSON.parse((await capture(() => diff(['--base', 'examples', '--head', head, '-o', 'json']))).out);
    expect(j.policiesChanged.map((p: { policy: string }) => p.policy)).toContain('globex-prod/api-ingress');
  });

  it('rejects missing flags with exit 2', async () => {
    expect((await capture(() => diff(['--base', 'examples']))).code).toBe(2);
  });
});
