// `vmsafe dev [--demo] [--port N] [--data-dir DIR]`: API server + operator + agents on this machine.
import { join } from 'node:path';
import { waitConverged } from '../../dev/converged';
import { applyManifests, REPO_ROOT, startDevStack } from '../../dev/stack';
import { DataDirError } from '../../apiserver/wal';
import { startDashboard } from '../../ui';
import { cliLogger, untilSignal } from '../flags';
import { act, Command, int, number, runCommand, verb } from '../program';
import { applyHeapGrowth, heapGrowthFlag } from '../heap';

/** How long `--demo` waits for the datacenter to converge before saying it has not. */
const CONVERGE_TIMEOUT_MS = 120_000;

export function command(): Command {
  return verb('dev', 'embedded API server + operator + agents (--demo applies examples/)')
    .option('--demo', 'apply the demo datacenter (examples/)', false)
    .option('--port <n>', 'API server port, 0 = any free port', int(0, 65535), 0)
    .option('--data-dir <dir>', 'persist the API server here (default: in memory)')
    .option('--kubeconfig <path>', 'write the kubeconfig here (default .vmsafe/kubeconfig)')
    .option('--heartbeat-ms <ms>', 'agent heartbeat period (default 2000)', number(1), 2000)
    .option('--lease-seconds <s>', 'agent Lease duration (default 8)', number(1), 8)
    .option('--log-level <level>', 'pino level (default warn)')
    .option('--ui-port <n>', 'dashboard port on 127.0.0.1, 0 = any free port', int(0, 65535), 0)
    .addOption(heapGrowthFlag())
    .action(act(dev));
}

export const run = (argv: string[]) => runCommand(command(), argv);

interface DevFlags {
  heapGrowthPercent: number;
  demo: boolean;
  port: number;
  dataDir?: string;
  kubeconfig?: string;
  heartbeatMs: number;
  leaseSeconds: number;
  logLevel?: string;
  uiPort: number;
}

async function dev(values: DevFlags): Promise<number> {
  applyHeapGrowth(values.heapGrowthPercent);
  // Quiet by default: the terminal is for the person; set --log-level info to see the controllers.
  const logger = cliLogger(values.logLevel ?? 'warn', 'vmsafe');
  let stack;
  try {
    stack = await startDevStack({
      logger,
      port: values.port,
      dataDir: values.dataDir,
      kubeconfigPath: values.kubeconfig,
      heartbeatMs: values.heartbeatMs,
      leaseSeconds: values.leaseSeconds,
      leaderElection: true,
    });
  } catch (e) {
    // A damaged data directory: one line saying where (recover with `vmsafe apiserver --data-dir DIR --recover`).
    if (e instanceof DataDirError) {
      process.stderr.write(`vmsafe dev: ${e.message.replace('start with --recover', 'run `vmsafe apiserver --data-dir DIR --recover` once')}\n`);
      return 1;
    }
    throw e;
  }
  const out = (s: string) => process.stdout.write(s + '\n');
  out(`vmsafe dev: API server on ${stack.server.url}, operator and agents running.`);
  out(`\n  export KUBECONFIG=${stack.kubeconfigPath}\n  kubectl get vmsafe -A\n`);
  if (values.demo) {
    const summary = await applyManifests(stack, [join(REPO_ROOT, 'examples')]);
    out(`demo datacenter applied from examples/ (${summary}); watch it converge: kubectl get vms -A -w`);
    const p = await waitConverged(stack.client, CONVERGE_TIMEOUT_MS);
    out(p.converged ? `demo converged in ${(p.ms / 1000).toFixed(1)} s: ${p.summary}` : `demo not converged after ${p.ms / 1000} s: ${p.summary} (kubectl describe vms -A says why)`);
    // The operator binds each Tenant's spec.admins to vmsafe-tenant-admin; RBAC is enforced, so
    // impersonating an admin shows exactly what a tenant sees.
    out('act as a tenant admin (examples/20-tenants.yaml: group acme-admins): kubectl --as alice --as-group acme-admins get vms -n acme');
    out('  and see what it cannot: kubectl --as alice --as-group acme-admins get secrets -n acme   # Forbidden');
  }
  // The dashboard, signed in as the admin (the stack's kubeconfig) through the one-time URL's token.
  const ui = await startDashboard({ kubeconfig: stack.kubeconfigPath, logger, port: values.uiPort });
  out(`Dashboard: ${ui.loginUrl}`);
  out('Ctrl-C stops everything.');
  await untilSignal(async () => {
    out('\nstopping...');
    await ui.close();
    await stack.stop();
  });
  return 0;
}
