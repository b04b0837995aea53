// The CLI framework, configured once: every verb is a commander `Command` (declared in its own module
// under commands/) and gets `--help`, one-line errors for unknown flags or bad values (exit 2, never a
// stack trace) and an exit code from its action. commander: zero dependencies, typed, the de-facto Node
// CLI parser; it gives help, `--flag=value`, `--no-flag`, suggestions and custom value parsers.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

export { Command, InvalidArgumentError, Option };

/** Exit code for usage errors (unknown flag, bad value, missing argument), as POSIX tools use. */
export const USAGE_EXIT = 2;

/** What a verb's action returns: the process exit code. */
export type VerbAction<O> = (opts: O, cmd: Command) => Promise<number>;

const results = new WeakMap<Command, number>();

/**
 * A new verb: `verb('trace', 'summary')`, then `.option(...)`, then `.action(act(...))`. The action's
 * returned number becomes the exit code.
 */
export function verb(name: string, summary: string): Command {
  return new Command(name).description(summary).helpOption('-h, --help', 'show this help').allowExcessArguments(false);
}

/** Wrap an action so its exit code reaches `runCommand`. */
export function act<O>(fn: VerbAction<O>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    results.set(cmd, await fn(cmd.opts() as O, cmd));
  };
}

/** One line, naming the command, for a usage mistake. */
export class UsageError extends Error {}

/**
 * Parse `argv` (the words after the verb) and run the verb. Usage errors print one line naming the
 * flag (`vmsafe trace: unknown option '--prot' (Did you mean --protocol?)`) and return 2.
 */
export async function runCommand(cmd: Command, argv: string[]): Promise<number> {
  // A verb runs under a `vmsafe` parent so its help reads "Usage: vmsafe trace ..."; the root is itself.
  const isRoot = cmd.name() === 'vmsafe';
  const root = isRoot ? cmd : new Command('vmsafe').addCommand(cmd);
  const prefix = isRoot ? 'vmsafe' : `vmsafe ${cmd.name()}`;
  configure(root, 'vmsafe');
  try {
    await root.parseAsync(isRoot ? argv : [cmd.name(), ...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0 through here; everything else is a usage error.
      return err.exitCode === 0 ? 0 : USAGE_EXIT;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`${prefix}: ${err.message} (see ${prefix} --help)\n`);
      return USAGE_EXIT;
    }
    throw err;
  }
  return results.get(cmd) ?? 0;
}

function configure(cmd: Command, prefix: string): void {
  cmd.exitOverride().configureOutput({
    writeOut: (s) => process.stdout.write(s),
    writeErr: (s) => process.stderr.write(s),
    // commander says "error: unknown option '--x'\n"; we say whose error it is and where help is.
    outputError: (s, write) => write(`${prefix}: ${s.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')} (see ${prefix} --help)\n`),
  });
  cmd.showSuggestionAfterError(true);
  for (const sub of cmd.commands) configure(sub, `${prefix} ${sub.name()}`);
}

// Value parsers: each names the flag in its error through commander ("option '--port <n>' argument 'x' is invalid. ...").
export function int(min = 0, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v) => {
    if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError('must be a whole number.');
    const n = Number(v);
    if (n < min || n > max) throw new InvalidArgumentError(`must be between ${min} and ${max}.`);
    return n;
  };
}

export function number(min = -Infinity): (v: string) => number {
  return (v) => {
    const n = v.trim() === '' ? NaN : Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError('must be a number.');
    if (n < min) throw new InvalidArgumentError(`must be at least ${min}.`);
    return n;
  };
}

/** `--flag`, `--flag=true|false` and `--no-flag` all work (Kubernetes components take `--leader-elect=false`). */
export function bool(v: string): boolean {
  if (/^(true|1|yes)$/i.test(v)) return true;
  if (/^(false|0|no)$/i.test(v)) return false;
  throw new InvalidArgumentError('must be true or false.');
}

export function oneOf<T extends string>(...choices: T[]): (v: string) => T {
  return (v) => {
    if (!(choices as string[]).includes(v)) throw new InvalidArgumentError(`must be one of ${choices.join(', ')}.`);
    return v as T;
  };
}

/** Repeatable string flag: `-f a -f b` → ['a', 'b']. */
export function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

/** A boolean flag that also takes `=true|false`, plus its `--no-` form. */
export function boolFlag(cmd: Command, name: string, description: string, defaultValue: boolean): Command {
  // No preset: a bare `--flag` is true without calling the parser.
  cmd.addOption(new Option(`--${name} [bool]`, description).argParser(bool).default(defaultValue));
  cmd.addOption(new Option(`--no-${name}`, `same as --${name}=false`).hideHelp());
  return cmd;
}
