// `vmsafe validate -f PATH...`: lint manifests for GitOps CI.
// Exit 0 when clean (warnings allowed), 1 on any error, 2 when input cannot be read or parsed.
import type { LoadError } from '../../manifests/load';
import { policyLinter } from '../../policy/validate-lint';
import { progressLine } from '../../util/progress';
import { exitCodeFor, formatFinding } from '../../validate';
import { validatePaths } from '../../validate/files';
import { act, collect, Command, runCommand, verb } from '../program';

const formatLoadError = (e: LoadError) => `${e.file}${e.line !== undefined ? `:${e.line}` : ''}: ${e.message}`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function command(): Command {
  return verb('validate', 'lint manifests for GitOps CI')
    .usage('-f PATH [-f PATH...]   (files, directories or - for stdin; YAML or JSON)')
    .addHelpText('after', '\nExit 0 when clean (warnings allowed), 1 on any error, 2 when input cannot be read or parsed.')
    .argument('[path...]', 'more inputs, same as -f')
    .option('-f, --filename <path>', 'file, directory or - for stdin (repeatable)', collect)
    .action(act((opts: { filename?: string[] }, cmd) => validate([...(opts.filename ?? []), ...(cmd.args as string[])])));
}

export const run = (argv: string[]) => runCommand(command(), argv);

async function validate(paths: string[]): Promise<number> {
  if (paths.length === 0) {
    process.stderr.write(`vmsafe validate: no input: give -f PATH (see vmsafe validate --help)\n`);
    return 2;
  }

  const result = await validatePaths(paths, { linters: [policyLinter], progress: progressLine('vmsafe validate') });
  if (result.errors.length > 0) {
    // Checking references against half the input would only add noise: fix reading first.
    process.stdout.write(result.errors.map((e) => `${formatLoadError(e)}\n`).join(''));
    process.stderr.write(`vmsafe validate: ${plural(result.errors.length, 'unreadable input')}\n`);
    return 2;
  }

  const findings = result.findings;
  process.stdout.write(findings.map((f) => `${formatFinding(f)}\n`).join(''));
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.length - errors;
  const scope = `${plural(result.objects, 'object')} in ${plural(result.files, 'file')}`;
  process.stderr.write(
    findings.length === 0
      ? `vmsafe validate: ${scope}, no problems\n`
      : `vmsafe validate: ${plural(errors, 'error')}, ${plural(warnings, 'warning')} (${scope})\n`,
  );
  return exitCodeFor(findings);
}
