// `vmsafe completion bash`: a bash completion script with every verb and each verb's flags. Built from
// the verb registry (loading every verb module, which only completion needs).
import type { Verbs } from './cli';
import { act, Command, oneOf, verb } from './program';

export function completionCommand(verbs: Verbs): Command {
  return verb('completion', 'print a shell completion script: source <(vmsafe completion bash)')
    .argument('<shell>', 'bash', oneOf('bash'))
    .action(
      act(async () => {
        process.stdout.write(await bashScript(verbs));
        return 0;
      }),
    );
}

export async function flagsOf(verbs: Verbs): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = { completion: ['bash'] };
  for (const [name, { load }] of Object.entries(verbs)) {
    const mod = await load();
    const cmd = mod.command?.();
    out[name] = cmd ? [...cmd.options.flatMap((o) => [o.long, o.short].filter((f): f is string => !!f)), '--help'] : ['--help'];
  }
  return out;
}

export async function bashScript(verbs: Verbs): Promise<string> {
  const flags = await flagsOf(verbs);
  const cases = Object.entries(flags)
    .map(([v, f]) => `    ${v}) opts="${f.join(' ')}" ;;`)
    .join('\n');
  // Serves both `vmsafe` and `kubectl vmsafe` (kubectl ≥1.26 calls kubectl_complete-vmsafe; see README).
  return `# bash completion for vmsafe: source <(vmsafe completion bash)
_vmsafe() {
  local cur verb opts i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  verb=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in -*) ;; *) verb="\${COMP_WORDS[i]}"; break ;; esac
  done
  if [[ -z "$verb" ]]; then
    COMPREPLY=($(compgen -W "${Object.keys(flags).join(' ')} --help --version" -- "$cur"))
    return
  fi
  case "$verb" in
${cases}
    *) opts="" ;;
  esac
  if [[ "$cur" == -* || "$verb" == completion ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F _vmsafe vmsafe
`;
}
