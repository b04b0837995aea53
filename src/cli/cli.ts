// Dispatch for the `vmsafe` CLI: top-level help and --version from the verb registry (summaries only,
// nothing loaded), then the chosen verb's module, new style (`command()`) or older style (`run(argv)`).
import { completionCommand } from './completion';
import { packageVersion } from '../util/package-root';
import { Command, runCommand } from './program';

export interface VerbModule {
  command?: () => Command;
  run?: (argv: string[]) => Promise<number>;
}

export type Verbs = Record<string, { summary: string; load: () => Promise<VerbModule> }>;

/** The package version. */
export const version = packageVersion;

/** Top-level program: the verb list for help (summaries only, nothing loaded), --version. */
function rootProgram(verbs: Verbs): Command {
  const root = new Command('vmsafe')
    .description('virtual-firewall security for multi-tenant virtualization clouds')
    .usage('<command> [flags]')
    .version(version(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show this help')
    .addHelpText('after', '\nRun `vmsafe <command> --help` for a command\'s flags.');
  for (const [name, { summary }] of Object.entries(verbs)) root.command(name).description(summary);
  root.command('completion').description('print a shell completion script: source <(vmsafe completion bash)');
  return root;
}

/** Run the CLI; resolves to the exit code. */
export async function cli(verbs: Verbs, argv: string[]): Promise<number> {
  // `vmsafe help trace` = `vmsafe trace --help`.
  // Own verbs only: `vmsafe constructor` is an unknown command, not Object's constructor (a crash).
  const verbOf = (w: string | undefined) => (w !== undefined && Object.hasOwn(verbs, w) ? verbs[w] : undefined);
  if (argv[0] === 'help' && argv[1] !== undefined && (verbOf(argv[1]) || argv[1] === 'completion')) argv = [argv[1], '--help'];
  const [word, ...rest] = argv;
  const entry = verbOf(word);
  if (!entry) {
    const root = rootProgram(verbs);
    if (word === undefined) {
      process.stderr.write(root.helpInformation());
      return 2;
    }
    if (word === 'help') argv = ['--help'];
    if (word === 'completion') return runCommand(completionCommand(verbs), rest);
    return runCommand(root, argv);
  }
  const mod = await entry.load();
  if (mod.command) return runCommand(mod.command(), rest);
  return mod.run!(rest);
}
