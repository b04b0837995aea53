// `vmsafe agent --host NAME` (one hypervisor agent) or `vmsafe agent --fleet` (one per Host object).
import { HostAgent } from '../../agent/agent';
import { agentFaults } from '../../agent/faults';
import { AgentFleet } from '../../agent/fleet';
import { KubeClient } from '../../runtime/client';
import { userAgent } from '../../util/package-root';
import { cliLogger, untilSignal } from '../flags';
import { act, Command, number, runCommand, verb } from '../program';
import { applyHeapGrowth, heapGrowthFlag } from '../heap';

export function command(): Command {
  return verb('agent', 'run a hypervisor agent (--host NAME) or a fleet (--fleet)')
    .option('--host <name>', 'the Host this agent serves')
    .option('--fleet', 'one agent per Host object, in this process', false)
    .option('--kubeconfig <path>', 'kubeconfig (default: as kubectl finds it, or in-cluster)')
    .option('--heartbeat-ms <ms>', 'heartbeat period (default 2000)', number(1))
    .option('--lease-seconds <s>', 'host Lease duration (default 8)', number(1))
    .option('--apply-failure-rate <p>', 'simulated: fraction of filter applies that fail (default 0)', number(0))
    .option('--apply-delay-ms <ms>', 'simulated: delay of each filter apply (default 0)', number(0))
    .option('--log-level <level>', 'pino level (default info, or $VMSAFE_LOG_LEVEL)')
    .addOption(heapGrowthFlag())
    .action(act(agent));
}

export const run = (argv: string[]) => runCommand(command(), argv);

interface AgentFlags {
  heapGrowthPercent: number;
  host?: string;
  fleet: boolean;
  kubeconfig?: string;
  heartbeatMs?: number;
  leaseSeconds?: number;
  applyFailureRate?: number;
  applyDelayMs?: number;
  logLevel?: string;
}

async function agent(values: AgentFlags): Promise<number> {
  applyHeapGrowth(values.heapGrowthPercent);
  if (!values.host === !values.fleet) {
    process.stderr.write('vmsafe agent: give exactly one of --host NAME or --fleet (see vmsafe agent --help)\n');
    return 2;
  }
  const logger = cliLogger(values.logLevel, 'vmsafe-agent');
  const client = new KubeClient(values.kubeconfig ? { file: values.kubeconfig } : undefined, { userAgent: userAgent('vmsafe-agent') });
  const timing = {
    heartbeatMs: values.heartbeatMs ?? 2000,
    leaseDurationSeconds: values.leaseSeconds ?? 8,
  };
  if (values.fleet) {
    const fleet = new AgentFleet({ client, logger, agent: timing }).start();
    logger.info('agent fleet running: one agent per Host');
    await untilSignal(() => fleet.stop());
    return 0;
  }
  const faults = agentFaults.parse({
    applyFailureRate: values.applyFailureRate ?? 0,
    applyDelayMs: values.applyDelayMs ?? 0,
  });
  const agent = new HostAgent({ client, host: values.host!, logger, faults, ...timing }).start();
  await untilSignal(() => agent.stop());
  client.close();
  return 0;
}
