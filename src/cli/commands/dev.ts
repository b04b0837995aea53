// `vmsafe dev [--demo] [--port N] [--data-dir DIR]`: API server + operator + agents on this machine.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { applyManifests, REPO_ROOT, startDevStack } from '../../dev/stack';
import { startDashboard } from '../../ui';
import { cliLogger, num, untilSignal } from '../flags';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      demo: { type: 'boolean', default: false },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      kubeconfig: { type: 'string' },
      'heartbeat-ms': { type: 'string' },
      'lease-seconds': { type: 'string' },
      'log-level': { type: 'string' },
      'ui-port': { type: 'string' },
    },
  });
  // Quiet by default: the terminal is for the person; set --log-level info to see the controllers.
  const logger = cliLogger(values['log-level'] ?? 'warn', 'vmsafe');
  const stack = await startDevStack({
    logger,
    port: num(values.port, 'port', 0),
    dataDir: values['data-dir'],
    kubeconfigPath: values.kubeconfig,
    heartbeatMs: num(values['heartbeat-ms'], 'heartbeat-ms', 2000),
    leaseSeconds: num(values['lease-seconds'], 'lease-seconds', 8),
    leaderElection: true,
  });
  const out = (s: string) => process.stdout.write(s + '\n');
  out(`vmsafe dev: API server on ${stack.server.url}, operator and agents running.`);
  out(`\n  export KUBECONFIG=${stack.kubeconfigPath}\n  kubectl get vmsafe -A\n`);
  if (values.demo) {
    const summary = await applyManifests(stack, [join(REPO_ROOT, 'examples')]);
    out(`demo datacenter applied from examples/ (${summary}); watch it converge: kubectl get vms -A -w`);
  }
  // The dashboard, signed in as the admin (the stack's kubeconfig) through the one-time URL's token.
  const ui = await startDashboard({ kubeconfig: stack.kubeconfigPath, logger, port: num(values['ui-port'], 'ui-port', 0) });
  out(`Dashboard: ${ui.loginUrl}`);
  out('Ctrl-C stops everything.');
  await untilSignal(async () => {
    out('\nstopping...');
    await ui.close();
    await stack.stop();
  });
  return 0;
}
