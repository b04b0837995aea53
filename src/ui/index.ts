// The fleet dashboard: watch with a kubeconfig, serve the page on loopback. Used by `vmsafe ui` and `vmsafe dev`.
import { KubeClient } from '../runtime/client';
import type { Logger } from '../util/log';
import type { ReachFn } from './reach';
import { startUiServer, type UiServer } from './server';
import { FleetWatch } from './watch';

export interface DashboardOptions {
  kubeconfig: string;
  logger: Logger;
  port?: number;
  namespace?: string;
  token?: string;
  reach?: ReachFn;
  providerNamespace?: string;
}

export interface Dashboard extends UiServer {
  watch: FleetWatch;
}

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const client = new KubeClient({ file: opts.kubeconfig });
  const watch = new FleetWatch({ client, logger: opts.logger, namespace: opts.namespace });
  await watch.start();
  const server = await startUiServer({ watch, logger: opts.logger, port: opts.port, token: opts.token, reach: opts.reach, providerNamespace: opts.providerNamespace });
  return {
    ...server,
    watch,
    async close() {
      await server.close();
      await watch.stop();
      client.close();
    },
  };
}
