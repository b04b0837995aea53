// `vmsafe operator`: the controllers against a cluster (kubeconfig as kubectl finds it, or in-cluster).
import { DEFAULT_RESYNC_MS, DEFAULT_SHARED_GROUP_MIN, parseBindAddress, startOperator } from '../../controllers/operator';
import { DEFAULT_STAGED_IMPACT_MAX_VNICS } from '../../controllers/staged-impact';
import { cliLogger, untilSignal } from '../flags';
import { act, boolFlag, Command, int, number, runCommand, verb } from '../program';
import { applyHeapPolicy, heapGrowthFlag, memoryLimitFlag } from '../heap';

export function command(): Command {
  const cmd = verb('operator', 'run the operator against a cluster (kubeconfig as kubectl finds it)')
    .option('--kubeconfig <path>', 'kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster)');
  boolFlag(cmd, 'leader-elect', 'take the leader Lease before reconciling; --leader-elect=false for a single replica', true);
  return cmd
    .option('--identity <id>', 'leader-election identity (default: hostname_random)')
    .option('--lease-duration <s>', 'leader Lease duration in seconds', number(1), 15)
    .option('--renew-deadline <s>', 'leader renew deadline in seconds', number(1), 10)
    .option('--retry-period <s>', 'leader retry period in seconds', number(0.1), 2)
    .option('--metrics-bind-address <addr>', 'Prometheus metrics, HOST:PORT or :PORT (0 = off)')
    .option('--health-probe-bind-address <addr>', '/healthz and /readyz, HOST:PORT or :PORT (0 = off)')
    .option('--shared-group-min-addresses <n>', 'smallest selection shared as an AddressGroup', int(0), DEFAULT_SHARED_GROUP_MIN)
    .option('--staged-impact-max-vnics <n>', 'largest fleet (vNICs) for which staged policies get an impact in their status', int(0), DEFAULT_STAGED_IMPACT_MAX_VNICS)
    .option('--resync-period <s>', 're-feed and re-reconcile everything this often, in seconds (0 = never)', number(0), DEFAULT_RESYNC_MS / 1000)
    .option('--kube-api-qps <n>', 'client-side limit on API requests per second, like client-go QPS (0 = none)', number(0), 0)
    .option('--kube-api-burst <n>', 'requests allowed in a burst above --kube-api-qps (default 1.5 x qps)', int(1))
    .option('--log-level <level>', 'pino level (default info, or $VMSAFE_LOG_LEVEL)')
    .addOption(heapGrowthFlag())
    .addOption(memoryLimitFlag())
    .action(act(operator));
}

export const run = (argv: string[]) => runCommand(command(), argv);

interface OperatorFlags {
  heapGrowthPercent: number;
  memoryLimit?: number;
  kubeconfig?: string;
  leaderElect: boolean;
  identity?: string;
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  metricsBindAddress?: string;
  healthProbeBindAddress?: string;
  sharedGroupMinAddresses: number;
  stagedImpactMaxVnics: number;
  resyncPeriod: number;
  kubeApiQps: number;
  kubeApiBurst?: number;
  logLevel?: string;
}

async function operator(values: OperatorFlags): Promise<number> {
  const logger = cliLogger(values.logLevel, 'vmsafe-operator');
  const memory = applyHeapPolicy(values, logger);
  const op = await startOperator({
    kubeconfig: values.kubeconfig ? { file: values.kubeconfig } : undefined,
    logger,
    leaderElection: {
      enabled: values.leaderElect,
      identity: values.identity,
      leaseDurationMs: values.leaseDuration * 1000,
      renewDeadlineMs: values.renewDeadline * 1000,
      retryPeriodMs: values.retryPeriod * 1000,
    },
    metricsAddress: parseBindAddress(values.metricsBindAddress),
    probeAddress: parseBindAddress(values.healthProbeBindAddress),
    sharedGroupMinAddresses: values.sharedGroupMinAddresses,
    stagedImpactMaxVnics: values.stagedImpactMaxVnics,
    resyncPeriodMs: values.resyncPeriod * 1000,
    kubeApi: { qps: values.kubeApiQps, burst: values.kubeApiBurst },
  });
  logger.info({ identity: op.identity, metrics: op.metricsServer?.url, probes: op.probeServer?.url }, 'operator running');
  await untilSignal(() => op.stop());
  memory?.stop();
  return 0;
}
