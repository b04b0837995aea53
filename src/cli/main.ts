// `vmsafe` entry point: the verb registry. Each verb lives in its own module under commands/, loaded
// only when used, so `vmsafe --help` stays fast. Adding a verb = one module + one line here.
//
// A verb module exports `command(): Command` (flags declared with commander, see program.ts) and, for
// tests and callers, `run(argv)`. A module that exports only `run(argv): Promise<number>` (the older
// style) still works: it gets the raw words after the verb and handles its own flags and --help.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cli, type Verbs } from './cli';

export const VERBS: Verbs = {
  dev: { summary: 'embedded API server + operator + agents (--demo applies examples/)', load: () => import('./commands/dev') },
  operator: { summary: 'run the operator against a cluster (kubeconfig as kubectl finds it)', load: () => import('./commands/operator') },
  agent: { summary: 'run a hypervisor agent (--host NAME) or a fleet (--fleet)', load: () => import('./commands/agent') },
  trace: { summary: 'verdict for a packet, from manifests (-f) or the cluster (--live)', load: () => import('./commands/trace') },
  analyze: { summary: 'exact cross-tenant reachability (-f DIR or --live), with witnesses', load: () => import('./commands/analyze') },
  diff: { summary: 'what a change to the manifests opens and closes (--base DIR --head DIR)', load: () => import('./commands/diff') },
  validate: { summary: 'lint manifests for GitOps CI', load: () => import('./commands/validate') },
  gen: { summary: 'generate a synthetic datacenter as manifests', load: () => import('./commands/gen') },
  crds: { summary: 'generate the CRDs from the schemas (-o DIR)', load: () => import('./commands/crds') },
  ui: { summary: 'the fleet dashboard on 127.0.0.1 (--kubeconfig, --port)', load: () => import('./commands/ui') },
  apiserver: { summary: 'run only the embedded API server', load: () => import('./commands/apiserver') },
};

/** Run as a program (not imported, e.g. by tests that read VERBS). */
function isEntry(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntry()) start();

function start(): void {
  // `vmsafe ... | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });

  cli(VERBS, process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      // An error no verb handled is a bug: one line; the stack only with VMSAFE_DEBUG=1.
      const detail = err instanceof Error ? (process.env.VMSAFE_DEBUG ? (err.stack ?? err.message) : err.message) : String(err);
      process.stderr.write(`vmsafe: ${detail}\n`);
      process.exitCode = 1;
    },
  );
}
