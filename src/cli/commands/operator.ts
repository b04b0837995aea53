// `vmsafe operator`: the controllers against a cluster (kubeconfig as kubectl finds it, or in-cluster).
import { parseArgs } from 'node:util';
import { DEFAULT_SHARED_GROUP_MIN, parseBindAddress, startOperator } from '../../controllers/operator';
import { cliLogger, num, untilSignal } from '../flags';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: 'string' },
      'leader-elect': { type: 'boolean', default: true },
      'no-leader-elect': { type: 'boolean', default: false },
      identity: { type: 'string' },
      'lease-duration': { type: 'string' },
      'renew-deadline': { type: 'string' },
      'retry-period': { type: 'string' },
      'metrics-bind-address': { type: 'string' },
      'health-probe-bind-address': { type: 'string' },
      'log-level': { type: 'string' },
      'shared-group-min-addresses': { type: 'string' },
    },
  });
  const logger = cliLogger(values['log-level'], 'vmsafe-operator');
  const op = await startOperator({
    kubeconfig: values.kubeconfig ? { file: values.kubeconfig } : undefined,
    logger,
    leaderElection: {
      enabled: values['leader-elect'] && !values['no-leader-elect'],
      identity: values.identity,
      leaseDurationMs: num(values['lease-duration'], 'lease-duration', 15) * 1000,
      renewDeadlineMs: num(values['renew-deadline'], 'renew-deadline', 10) * 1000,
      retryPeriodMs: num(values['retry-period'], 'retry-period', 2) * 1000,
    },
    metricsAddress: parseBindAddress(values['metrics-bind-address']),
    probeAddress: parseBindAddress(values['health-probe-bind-address']),
    sharedGroupMinAddresses: num(values['shared-group-min-addresses'], 'shared-group-min-addresses', DEFAULT_SHARED_GROUP_MIN),
  });
  logger.info({ identity: op.identity, metrics: op.metricsServer?.url, probes: op.probeServer?.url }, 'operator running');
  await untilSignal(() => op.stop());
  return 0;
}
