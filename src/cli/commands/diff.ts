// `vmsafe diff --base PATH --head PATH [-o text|json] [--fail-on-opened]`: what a change to the
// manifests does, for a pull request: cross-tenant pairs (with ports) opened and closed, from-outside
// reachability gained and lost, VMs whose program changes, policies whose span changes, hosts whose
// HostFilter changes. Exit 0 = compared, 1 = --fail-on-opened and something cross-tenant opened,
// 2 = usage or unreadable / invalid input.
import { diffAnalyses, formatRanges, fromRanges, type Diff, type PairChange } from '../../analyze';
import { analyzeWorld } from '../../analyze/world';
import { loadTraceWorld as loadWorld } from '../../policy/trace-offline';
import { act, collect, Command, Option, runCommand, verb } from '../program';

const pairs = (title: string, list: PairChange[]) =>
  list.length === 0 ? [] : [title, ...list.map((p) => `  ${p.from} -> ${p.to}  ${formatRanges(fromRanges(p.ports))}`)];

export function formatDiff(d: Diff): string {
  const lines = [
    ...pairs('opened (cross-tenant):', d.opened),
    ...pairs('closed (cross-tenant):', d.closed),
    ...pairs('opened from outside:', d.outsideOpened),
    ...pairs('closed from outside:', d.outsideClosed),
  ];
  if (lines.length === 0) lines.push('no cross-tenant or outside reachability change');
  lines.push(`VMs whose program changes: ${d.vmsChanged.length}${d.vmsChanged.length ? ` (${d.vmsChanged.slice(0, 10).join(', ')}${d.vmsChanged.length > 10 ? ', …' : ''})` : ''}`);
  for (const p of d.policiesChanged) lines.push(`policy ${p.policy}: ${p.vnicsBefore} -> ${p.vnicsAfter} vNICs`);
  lines.push(`hosts whose HostFilter changes: ${d.hostsChanged}`);
  for (const h of d.hosts.slice(0, 20))
    lines.push(`  ${h.host}: ${h.rulesBefore < 0 ? 'new filter' : `${h.rulesBefore} rules`} -> ${h.rulesAfter < 0 ? 'removed' : `${h.rulesAfter} rules`} (+${h.rulesAdded} -${h.rulesRemoved})`);
  if (d.hosts.length > 20) lines.push(`  … ${d.hosts.length - 20} more`);
  return lines.join('\n') + '\n';
}

export function command(): Command {
  return verb('diff', 'what a change to the manifests opens and closes (--base DIR --head DIR)')
    .usage('--base PATH [--base PATH...] --head PATH [--head PATH...] [-o text|json] [--fail-on-opened]')
    .addHelpText('after', '\nExit 0 compared, 1 --fail-on-opened and something cross-tenant opened, 2 usage or unreadable / invalid input.')
    .option('--base <path>', 'manifests before the change (repeatable)', collect)
    .option('--head <path>', 'manifests after the change (repeatable)', collect)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--fail-on-opened', 'exit 1 when anything cross-tenant (or from outside) opens', false)
    .action(act(diffCommand));
}

export const run = (argv: string[]) => runCommand(command(), argv);

interface DiffFlags {
  base?: string[];
  head?: string[];
  output: 'text' | 'json';
  failOnOpened: boolean;
}

async function diffCommand(values: DiffFlags): Promise<number> {
  const usage = (msg: string) => {
    process.stderr.write(`vmsafe diff: ${msg} (see vmsafe diff --help)\n`);
    return 2;
  };
  if (!values.base?.length) return usage('--base PATH is required');
  if (!values.head?.length) return usage('--head PATH is required');

  const sides = [];
  for (const [flag, paths] of [['--base', values.base], ['--head', values.head]] as const) {
    const { world, errors } = await loadWorld(paths);
    if (errors.length > 0) {
      process.stderr.write(errors.map((e) => `${e}\n`).join('') + `vmsafe diff: ${flag}: ${errors.length} invalid manifest(s)\n`);
      return 2;
    }
    sides.push(analyzeWorld(world));
  }
  const [base, head] = sides as [ReturnType<typeof analyzeWorld>, ReturnType<typeof analyzeWorld>];
  const d = diffAnalyses(base, head, { base: base.compiled.filters, head: head.compiled.filters });
  process.stdout.write(values.output === 'json' ? JSON.stringify(d, null, 2) + '\n' : formatDiff(d));
  if (values.failOnOpened && (d.opened.length > 0 || d.outsideOpened.length > 0)) {
    process.stderr.write(`vmsafe diff: ${d.opened.length} cross-tenant pair(s) and ${d.outsideOpened.length} tenant(s) from outside opened\n`);
    return 1;
  }
  return 0;
}
