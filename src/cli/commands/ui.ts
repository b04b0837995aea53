// `vmsafe ui [--kubeconfig PATH] [--port N] [--namespace NS]`: the fleet dashboard on 127.0.0.1.
// It sees what the kubeconfig's user may read (a tenant admin: pass --namespace with the tenant's).
import { parseArgs } from 'node:util';
import { startDashboard } from '../../ui';
import { cliLogger, num, UsageError, untilSignal } from '../flags';

const USAGE = 'usage: vmsafe ui [--kubeconfig PATH] [--port N] [--namespace NS] [--log-level LEVEL]\n';

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        kubeconfig: { type: 'string' },
        port: { type: 'string' },
        namespace: { type: 'string', short: 'n' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`vmsafe ui: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let port: number;
  try {
    port = num(values.port, 'port', 0);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be an integer 0-65535, got "${values.port}"`);
  } catch (err) {
    process.stderr.write(`vmsafe ui: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const kubeconfig = values.kubeconfig ?? process.env.KUBECONFIG?.split(':')[0] ?? `${process.env.HOME}/.kube/config`;
  const logger = cliLogger(values['log-level'] ?? 'warn', 'vmsafe-ui');
  let ui;
  try {
    ui = await startDashboard({ kubeconfig, logger, port, namespace: values.namespace });
  } catch (err) {
    process.stderr.write(`vmsafe ui: ${(err as Error).message}\n`);
    return 1;
  }
  const access = ui.watch.access();
  process.stdout.write(`Dashboard: ${ui.loginUrl}\n`);
  for (const d of access.denied) process.stdout.write(`  cannot read ${d.resource}: ${d.message}\n`);
  process.stdout.write('Ctrl-C stops it.\n');
  await untilSignal(() => ui.close());
  return 0;
}
