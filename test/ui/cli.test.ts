// `vmsafe ui` bad input: one line naming the flag, exit 2 for usage and 1 for a kubeconfig it cannot use.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '../../bin/vmsafe');
const run = (args: string[]) =>
  new Promise<{ code: number; stderr: string }>((done) => execFile(BIN, ['ui', ...args], (err, _out, stderr) => done({ code: err ? (err as { code?: number }).code ?? 1 : 0, stderr })));

describe('vmsafe ui flags', () => {
  it.each([
    [['--port', 'abc'], 2, /--port <n>' argument 'abc' is invalid\. must be a whole number/],
    [['--port', '70000'], 2, /argument '70000' is invalid\. must be between 0 and 65535/],
    [['--bogus'], 2, /unknown option '--bogus'/],
    [['--kubeconfig', '/nonexistent/kubeconfig'], 1, /nonexistent/],
  ])('%j', async (args, code, message) => {
    const r = await run(args as string[]);
    expect(r.code).toBe(code);
    expect(r.stderr.split('\n')[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
