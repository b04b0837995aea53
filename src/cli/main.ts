// `vmsafe` entry point: each verb lives in its own module, loaded only when used.
const VERBS: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }> = {
  dev: { summary: 'embedded API server + operator + agents (--demo applies examples/)', load: () => import('./commands/dev') },
  operator: { summary: 'run the operator against a cluster (kubeconfig as kubectl finds it)', load: () => import('./commands/operator') },
  agent: { summary: 'run a hypervisor agent (--host NAME) or a fleet (--fleet)', load: () => import('./commands/agent') },
  trace: { summary: 'offline verdict for a packet, from manifests', load: () => import('./commands/trace') },
  validate: { summary: 'lint manifests for GitOps CI', load: () => import('./commands/validate') },
  gen: { summary: 'generate a synthetic datacenter as manifests', load: () => import('./commands/gen') },
  bench: { summary: 'run the benchmarks, JSON out', load: () => import('./commands/bench') },
  crds: { summary: 'generate the CRDs from the schemas (-o DIR)', load: () => import('./commands/crds') },
  ui: { summary: 'the fleet dashboard on 127.0.0.1 (--kubeconfig, --port)', load: () => import('./commands/ui') },
  apiserver: { summary: 'run only the embedded API server', load: () => import('./commands/apiserver') },
};

function usage(): string {
  const lines = Object.entries(VERBS).map(([v, { summary }]) => `  ${v.padEnd(10)} ${summary}`);
  return `usage: vmsafe <command> [flags]\n\ncommands:\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === '-h' || verb === '--help' || verb === 'help') {
    process.stdout.write(usage());
    return verb ? 0 : 2;
  }
  const entry = VERBS[verb];
  if (!entry) {
    process.stderr.write(`vmsafe: unknown command "${verb}"\n\n${usage()}`);
    return 2;
  }
  const mod = await entry.load();
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`vmsafe: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
