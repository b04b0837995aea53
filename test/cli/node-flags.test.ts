// The V8 flags of src/cli/node-flags.ts reach node wherever vmsafe starts: bin/vmsafe (both the built
// and the tsx branch), the container image's ENTRYPOINT, and a real process started through bin/vmsafe.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE_FLAGS } from '../../src/cli/node-flags';

const ROOT = join(import.meta.dirname, '../..');

describe('NODE_FLAGS', () => {
  it('bin/vmsafe passes exactly these flags on both of its exec lines', () => {
    const text = readFileSync(join(ROOT, 'bin/vmsafe'), 'utf8');
    const declared = /^node_flags=\(([^)]*)\)$/m.exec(text)?.[1]?.split(/\s+/).filter(Boolean);
    expect(declared).toEqual([...NODE_FLAGS]);
    const execs = text.split('\n').filter((l) => l.trim().startsWith('exec node'));
    expect(execs).toHaveLength(2);
    for (const l of execs) expect(l).toContain('"${node_flags[@]}"');
  });

  it('the Dockerfile ENTRYPOINT passes them before the entry script', () => {
    const line = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').split('\n').find((l) => l.startsWith('ENTRYPOINT '))!;
    const argv = JSON.parse(line.slice('ENTRYPOINT '.length)) as string[];
    const script = argv.findIndex((a) => a.endsWith('/dist/cli/main.js'));
    expect(script).toBeGreaterThan(0);
    expect(argv.slice(1, script).filter((a) => a !== '--enable-source-maps')).toEqual([...NODE_FLAGS]);
  });

  it('node started by bin/vmsafe has them on its command line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmsafe-flags-'));
    // exec: the launcher's PID becomes node's, so /proc/PID/cmdline is what node was started with.
    const child = spawn(join(ROOT, 'bin/vmsafe'), ['apiserver', '--port', '0', '--kubeconfig', join(dir, 'kubeconfig')], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise<void>((done, fail) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('KUBECONFIG')) done();
        });
        child.once('exit', (code) => fail(new Error(`vmsafe apiserver exited (${code}) before it was ready`)));
      });
      const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
      const script = argv.findIndex((a) => a.endsWith('main.js') || a.endsWith('main.ts'));
      expect(argv.slice(1, script)).toEqual(expect.arrayContaining([...NODE_FLAGS]));
    } finally {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
