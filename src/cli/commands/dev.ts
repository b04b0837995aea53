// `vmsafe dev [--demo] [--port N] [--data-dir DIR]`: API server + operator + agents on this machine.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { applyManifests, REPO_ROOT, startDevStack } from '../../dev/stack';
import { DataDirError } from '../../apiserver/wal';
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
    },
  });
  // Quiet by default: the terminal is for the person; set --log-level info to see the controllers.
  const logger = cliLogger(values['log-level'] ?? 'warn', 'vmsafe');
  let stack;
  try {
    stack = await startDevStack({
      logger,
      port: num(values.port, 'port', 0),
      dataDir: values['data-dir'],
      kubeconfigPath: values.kubeconfig,
      heartbeatMs: num(values['heartbeat-ms'], 'heartbeat-ms', 2000),
      leaseSeconds: num(values['lease-seconds'], 'lease-seconds', 8),
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
  }
  out('Ctrl-C stops everything.');
  await untilSignal(async () => {
    out('\nstopping...');
    await stack.stop();
  });
  return 0;
}
