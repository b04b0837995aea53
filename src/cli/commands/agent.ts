// `vmsafe agent --host NAME` (one hypervisor agent) or `vmsafe agent --fleet` (one per Host object).
import { parseArgs } from 'node:util';
import { HostAgent } from '../../agent/agent';
import { agentFaults } from '../../agent/faults';
import { AgentFleet } from '../../agent/fleet';
import { KubeClient } from '../../runtime/client';
import { cliLogger, num, untilSignal } from '../flags';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      fleet: { type: 'boolean', default: false },
      kubeconfig: { type: 'string' },
      'heartbeat-ms': { type: 'string' },
      'lease-seconds': { type: 'string' },
      'apply-failure-rate': { type: 'string' },
      'apply-delay-ms': { type: 'string' },
      'log-level': { type: 'string' },
    },
  });
  if (!values.host === !values.fleet) {
    process.stderr.write('vmsafe agent: give exactly one of --host NAME or --fleet\n');
    return 2;
  }
  const logger = cliLogger(values['log-level'], 'vmsafe-agent');
  const client = new KubeClient(values.kubeconfig ? { file: values.kubeconfig } : undefined);
  const timing = {
    heartbeatMs: num(values['heartbeat-ms'], 'heartbeat-ms', 2000),
    leaseDurationSeconds: num(values['lease-seconds'], 'lease-seconds', 8),
  };
  if (values.fleet) {
    const fleet = new AgentFleet({ client, logger, agent: timing }).start();
    logger.info('agent fleet running: one agent per Host');
    await untilSignal(() => fleet.stop());
    return 0;
  }
  const faults = agentFaults.parse({
    applyFailureRate: num(values['apply-failure-rate'], 'apply-failure-rate', 0),
    applyDelayMs: num(values['apply-delay-ms'], 'apply-delay-ms', 0),
  });
  const agent = new HostAgent({ client, host: values.host!, logger, faults, ...timing }).start();
  await untilSignal(() => agent.stop());
  client.close();
  return 0;
}
