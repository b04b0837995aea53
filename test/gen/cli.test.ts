import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { decode } from '../../src/api';
import { run as gen } from '../../src/cli/commands/gen';
import { generateDatacenter } from '../../src/gen';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/vmsafe');
const dir = mkdtempSync(join(tmpdir(), 'vmsafe-gen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('vmsafe gen', () => {
  it('writes chunked manifests in apply order that decode to the in-memory datacenter', async () => {
    writeFileSync(join(dir, '06-vms-0099.yaml'), 'stale'); // from an earlier, bigger run
    writeFileSync(join(dir, 'kustomization.yaml'), 'keep');
    const args = ['gen', '--hosts', '6', '--vms', '250', '--tenants', '30', '--pools', '2', '--seed', '3', '--chunk', '100', '-o', dir];
    const { stdout, stderr } = await run(BIN, args);
    expect(stderr).toBe(''); // not a terminal: no progress bar
    expect(stdout).toMatch(/^wrote 392 objects in 8 files .*6 hosts, 30 tenants, 250 VMs/);
    const files = readdirSync(dir).sort();
    expect(files).toEqual([
      '01-namespaces-0001.yaml', '02-tags-0001.yaml', '03-tenants-0001.yaml', '04-hosts-0001.yaml',
      '05-securitypolicies-0001.yaml', '06-vms-0001.yaml', '06-vms-0002.yaml', '06-vms-0003.yaml', 'kustomization.yaml',
    ].sort());
    const dc = generateDatacenter({ hosts: 6, vms: 250, tenants: 30, pools: 2, seed: 3 });
    const vms = files
      .filter((f) => f.startsWith('06-'))
      .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8'), { version: '1.1' }).map((d) => d.toJS()));
    expect(vms).toHaveLength(250);
    const decoded = vms.map((v) => {
      const r = decode(v);
      if (!r.ok) throw new Error(JSON.stringify(r.errors));
      return r.value;
    });
    expect(decoded).toEqual(dc.vms);
  });

  it('explains a missing or bad flag with exit code 2', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await gen(['--hosts', '2', '--vms', '1', '-o', dir])).toBe(2);
      expect(await gen(['--hosts', 'two', '--vms', '1', '--tenants', '1', '-o', dir])).toBe(2);
      expect(await gen(['--hosts', '1', '--vms', '1', '--tenants', '1'])).toBe(2);
      expect(err.mock.calls.map((c) => String(c[0]))).toEqual([
        'vmsafe gen: --tenants is required (see vmsafe gen --help)\n',
        'vmsafe gen: --hosts must be a whole number, got "two" (see vmsafe gen --help)\n',
        'vmsafe gen: -o DIR is required (see vmsafe gen --help)\n',
      ]);
    } finally {
      err.mockRestore();
    }
  });
});
