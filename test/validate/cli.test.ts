// The real CLI, end to end: output lines, summary and exit codes.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/commands/validate';
import { capture } from '../helpers/capture';

const ROOT = join(__dirname, '..', '..');
const VMSAFE = join(ROOT, 'bin', 'vmsafe');

function vmsafe(args: string[], cwd: string, stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(VMSAFE, args, { cwd, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(stdin);
  });
}

// A copy of examples/ plus one bad VM with its IP on line 14.
function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vmsafe-validate-'));
  cpSync(join(ROOT, 'examples'), join(dir, 'examples'), { recursive: true });
  writeFileSync(
    join(dir, 'examples', 'vms.yaml'),
    [
      '# A VM with a typo in its address.',
      'apiVersion: vmsafe.io/v1alpha1',
      'kind: VM',
      'metadata:',
      '  name: web-3',
      '  namespace: acme',
      'spec:',
      '  tags: [web]',
      '  vnics:',
      '    - name: eth0',
      '      network: acme-web',
      '      mac: "00:50:56:0a:00:0b"',
      '      # 300 is not an octet',
      '      ip: 10.0.0.300',
      '',
    ].join('\n'),
  );
  mkdirSync(join(dir, 'more'));
  writeFileSync(join(dir, 'more', 'broken.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: @bad\n');
  writeFileSync(
    join(dir, 'more', 'pinned.yaml'),
    'apiVersion: vmsafe.io/v1alpha1\nkind: VM\nmetadata: {name: pinned, namespace: initech}\nspec:\n  hostName: esx-gold-01\n' +
      '  vnics: [{name: eth0, network: initech-lan, ip: 10.30.0.99, mac: "00:50:56:1e:00:99"}]\n',
  );
  return dir;
}

describe.concurrent('vmsafe validate', () => {
  const dir = workspace();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0 on examples/ with no findings', async () => {
    const r = await vmsafe(['validate', '-f', 'examples/'], ROOT);
    expect(r).toMatchObject({ code: 0, stdout: '' });
    expect(r.stderr).toMatch(/^vmsafe validate: 39 objects in 7 files, no problems\n$/);
  });

  it('exits 1 and names file, line, object and field', async () => {
    const r = await vmsafe(['validate', '-f', 'examples/'], dir);
    expect(r.stdout).toBe('examples/vms.yaml:14 VM acme/web-3 spec.vnics[0].ip: "10.0.0.300" is not an IPv4 address\n');
    expect(r.stderr).toBe('vmsafe validate: 1 error, 0 warnings (40 objects in 8 files)\n');
    expect(r.code).toBe(1);
  });

  it('exits 2 on broken YAML (with its line) and on a missing file', async () => {
    const r = await vmsafe(['validate', '-f', 'examples', '-f', 'more/broken.yaml', '-f', 'nope.yaml'], dir);
    expect(r.stdout).toBe('more/broken.yaml:3: Plain value cannot start with reserved character @\nnope.yaml: no such file or directory\n');
    expect(r.stderr).toBe('vmsafe validate: 2 unreadable inputs\n');
    expect(r.code).toBe(2);
  });

  it('reads stdin for -f -', async () => {
    const r = await vmsafe(['validate', '-f', '-'], dir, 'apiVersion: vmsafe.io/v1alpha1\nkind: Tag\nmetadata: {name: x}\nspec: {enforcement: Maybe}\n');
    expect(r.stdout).toBe('<stdin>:4 Tag x spec.enforcement: Invalid option: expected one of "Required"|"Preferred"\n');
    expect(r.code).toBe(1);
  });

});

// The rest in-process: the same `run` the CLI calls, without paying for another process.
describe('vmsafe validate (in process)', () => {
  const dir = workspace();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const runCaptured = async (argv: string[]) => {
    const r = await capture(() => run(argv));
    return { code: r.code, stdout: r.out, stderr: r.err };
  };


  it('prints warnings but exits 0 when they are all there is', async () => {
    const pinned = join(dir, 'more', 'pinned.yaml');
    const r = await runCaptured(['-f', join(ROOT, 'examples'), '-f', pinned]);
    expect(r.stdout).toBe(
      `${pinned}:5 VM initech/pinned spec.hostName: warning: pinned VM would be quarantined: host esx-gold-01 lacks tags silver; host esx-gold-01 has no network initech-lan\n`,
    );
    expect(r.stderr).toBe('vmsafe validate: 0 errors, 1 warning (40 objects in 8 files)\n');
    expect(r.code).toBe(0);
  });

  it('exits 2 with one line pointing at --help when given nothing to read or an unknown flag', async () => {
    for (const [argv, what] of [[[], 'no input'], [['--nope'], "unknown option '--nope'"]] as const) {
      const r = await runCaptured([...argv]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`vmsafe validate: ${what}${what === 'no input' ? ': give -f PATH' : ''} (see vmsafe validate --help)\n`);
    }
  });
});
