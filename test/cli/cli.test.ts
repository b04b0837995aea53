// The CLI framework: every verb has --help, unknown flags and bad values are one line + exit 2, booleans
// take `=false`, `--version`, bash completion. Through the real dispatch (cli.ts) and the real verb registry.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cli } from '../../src/cli/cli';
import { command as operatorCommand } from '../../src/cli/commands/operator';
import { VERBS } from '../../src/cli/main';
import packageJson from '../../package.json';
import { capture } from '../helpers/capture';

/** Run the CLI in-process, capturing what it writes. */
const vmsafe = (...argv: string[]) => capture(() => cli(VERBS, argv));

afterEach(() => vi.restoreAllMocks());

const verbs = [...Object.keys(VERBS), 'completion'];

describe('vmsafe CLI', () => {
  it('lists every verb in --help and exits 0; no verb at all is usage (exit 2)', async () => {
    const r = await vmsafe('--help');
    expect(r.code).toBe(0);
    for (const v of verbs) expect(r.out).toMatch(new RegExp(`^  ${v} `, 'm'));
    expect((await vmsafe()).code).toBe(2);
  });

  it.each(verbs)('%s --help prints its usage and exits 0', async (v) => {
    for (const argv of [[v, '--help'], ['help', v]]) {
      const r = await vmsafe(...argv);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`Usage: vmsafe ${v}`);
      expect(r.err).toBe('');
    }
  });

  it.each(verbs)('%s: an unknown flag is one line naming it, exit 2, no stack', async (v) => {
    const r = await vmsafe(v, '--no-such-flag');
    expect(r.code).toBe(2);
    expect(r.err).toBe(`vmsafe ${v}: unknown option '--no-such-flag' (see vmsafe ${v} --help)\n`);
    expect(r.out).toBe('');
  });

  it('names the flag of a bad value, suggests near misses, rejects unknown verbs', async () => {
    const cases: [string[], string][] = [
      [['apiserver', '--port', 'x'], "vmsafe apiserver: option '--port <n>' argument 'x' is invalid. must be a whole number. (see vmsafe apiserver --help)\n"],
      [['apiserver', '--port', '70000'], "vmsafe apiserver: option '--port <n>' argument '70000' is invalid. must be between 0 and 65535. (see vmsafe apiserver --help)\n"],
      [['operator', '--leader-elect=maybe'], "vmsafe operator: option '--leader-elect [bool]' argument 'maybe' is invalid. must be true or false. (see vmsafe operator --help)\n"],
      [['operator', '--memory-limit', '1.5GB'], "vmsafe operator: option '--memory-limit <bytes>' argument '1.5GB' is invalid. must be bytes or a quantity such as 1Gi or 1536Mi. (see vmsafe operator --help)\n"],
      [['trace', '-o', 'xml'], "vmsafe trace: option '-o, --output <format>' argument 'xml' is invalid. Allowed choices are text, json. (see vmsafe trace --help)\n"],
      [['trace', '--protocl', 'TCP'], "vmsafe trace: unknown option '--protocl' (Did you mean --protocol?) (see vmsafe trace --help)\n"],
      [['trace', '--from'], "vmsafe trace: option '--from <end>' argument missing (see vmsafe trace --help)\n"],
      [['nope'], "vmsafe: unknown command 'nope' (see vmsafe --help)\n"],
      // Names of Object.prototype members are unknown commands too (they crashed: entry.load is not a function).
      [['constructor'], "vmsafe: unknown command 'constructor' (see vmsafe --help)\n"],
      [['toString'], "vmsafe: unknown command 'toString' (see vmsafe --help)\n"],
      [['__proto__'], "vmsafe: unknown command '__proto__' (see vmsafe --help)\n"],
      [['completion', 'fish'], "vmsafe completion: command-argument value 'fish' is invalid for argument 'shell'. must be one of bash. (see vmsafe completion --help)\n"],
    ];
    for (const [argv, err] of cases) {
      const r = await vmsafe(...argv);
      expect({ argv, code: r.code, err: r.err }).toEqual({ argv, code: 2, err });
    }
  });

  it('takes --leader-elect, --leader-elect=false|true, --no-leader-elect (as Kubernetes components do)', () => {
    const parse = (...argv: string[]) => {
      const c = operatorCommand().action(() => {});
      c.parse(argv, { from: 'user' });
      return c.opts().leaderElect as boolean;
    };
    expect(parse()).toBe(true);
    expect(parse('--leader-elect')).toBe(true);
    expect(parse('--leader-elect=false')).toBe(false);
    expect(parse('--leader-elect=true')).toBe(true);
    expect(parse('--no-leader-elect')).toBe(false);
    expect(parse('--leader-elect', '--metrics-bind-address=:8080')).toBe(true);
  });

  it('takes --memory-limit as bytes or a quantity, from $VMSAFE_MEMORY_LIMIT too (a flag wins)', () => {
    const parse = (env: string | undefined, ...argv: string[]) => {
      const saved = process.env.VMSAFE_MEMORY_LIMIT;
      if (env === undefined) delete process.env.VMSAFE_MEMORY_LIMIT;
      else process.env.VMSAFE_MEMORY_LIMIT = env;
      try {
        const c = operatorCommand().action(() => {});
        c.parse(argv, { from: 'user' });
        return c.opts().memoryLimit as number | undefined;
      } finally {
        if (saved === undefined) delete process.env.VMSAFE_MEMORY_LIMIT;
        else process.env.VMSAFE_MEMORY_LIMIT = saved;
      }
    };
    expect(parse(undefined)).toBeUndefined();
    expect(parse(undefined, '--memory-limit', '900Mi')).toBe(900 * 2 ** 20);
    expect(parse('1073741824')).toBe(2 ** 30);
    expect(parse('1Gi', '--memory-limit', '0')).toBe(0);
  });

  it('prints the package version', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await vmsafe(flag);
      expect(r).toEqual({ code: 0, out: `${packageJson.version}\n`, err: '' });
    }
  });

  it('prints a bash completion script that completes verbs and each verb\'s flags (run by real bash)', async () => {
    const r = await vmsafe('completion', 'bash');
    expect(r.code).toBe(0);
    // Source it in bash and ask for completions the way bash's `complete` would.
    const complete = (words: string[]) =>
      new Promise<string>((resolve, reject) => {
        const script = `${r.out}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _vmsafe; printf '%s\\n' "\${COMPREPLY[@]}"`;
        execFile('/bin/bash', ['--norc', '-c', script], { cwd: join(import.meta.dirname, '../..') }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
      });
    expect((await complete(['vmsafe', 'tr'])).split('\n')).toContain('trace');
    expect((await complete(['vmsafe', 'trace', '--pro'])).split('\n').sort()).toEqual(['', '--probes', '--protocol']);
    expect((await complete(['vmsafe', 'operator', '--leader'])).trim()).toBe('--leader-elect');
  });

  it('trace -f - reads stdin once and keeps it for its second read of the policies', async () => {
    const root = join(import.meta.dirname, '../..');
    const input = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.yaml')).sort().map((f) => `${readFileSync(join(root, 'examples', f), 'utf8')}\n---\n`).join('');
    const args = ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'trace', '-f', '-', '--from', 'acme/web-1', '--to', 'acme/app-1', '--protocol', 'TCP', '--port', '8080'];
    const out = await new Promise<string>((resolve, reject) => {
      const child = execFile(process.execPath, args, { cwd: root }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
      child.stdin!.end(input);
    });
    expect(out).toContain('Allow by Tenant policy acme/app-tier rule api-from-web');
  });
});
