// `vmsafe ui [--kubeconfig PATH] [--port N] [--namespace NS]`: the fleet dashboard on 127.0.0.1.
// It sees what the kubeconfig's user may read (a tenant admin: pass --namespace with the tenant's).
import { startDashboard } from '../../ui';
import { cliLogger, untilSignal } from '../flags';
import { act, Command, int, runCommand, verb } from '../program';

export function command(): Command {
  return verb('ui', 'the fleet dashboard on 127.0.0.1 (--kubeconfig, --port)')
    .option('--kubeconfig <path>', 'whose view: this kubeconfig (default $KUBECONFIG, else ~/.kube/config)')
    .option('--port <n>', 'port on 127.0.0.1, 0 = any free port', int(0, 65535), 0)
    .option('-n, --namespace <ns>', "a tenant admin's namespace (what that user may read)")
    .option('--log-level <level>', 'pino level (default warn)')
    .action(act(ui));
}

export const run = (argv: string[]) => runCommand(command(), argv);

interface UiFlags {
  kubeconfig?: string;
  port: number;
  namespace?: string;
  logLevel?: string;
}

async function ui(values: UiFlags): Promise<number> {
  const kubeconfig = values.kubeconfig ?? process.env.KUBECONFIG?.split(':')[0] ?? `${process.env.HOME}/.kube/config`;
  const logger = cliLogger(values.logLevel ?? 'warn', 'vmsafe-ui');
  let dashboard;
  try {
    dashboard = await startDashboard({ kubeconfig, logger, port: values.port, namespace: values.namespace });
  } catch (err) {
    process.stderr.write(`vmsafe ui: ${(err as Error).message}\n`);
    return 1;
  }
  const access = dashboard.watch.access();
  process.stdout.write(`Dashboard: ${dashboard.loginUrl}\n`);
  for (const d of access.denied) process.stdout.write(`  cannot read ${d.resource}: ${d.message}\n`);
  process.stdout.write('Ctrl-C stops it.\n');
  await untilSignal(() => dashboard.close());
  return 0;
}
