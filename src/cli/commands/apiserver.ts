// `vmsafe apiserver [--port N] [--data-dir DIR] [--kubeconfig PATH] [--crd-dir DIR] [--token T]`:
// runs only the embedded API server and prints how to point kubectl at it.
import { resolve } from 'node:path';
import { startApiServer, writeKubeconfig } from '../../apiserver/index';
import { createLogger } from '../../util/log';
import { act, Command, int, runCommand, verb } from '../program';

export function command(): Command {
  return verb('apiserver', 'run only the embedded API server')
    .option('--port <n>', 'listen port, 0 = any free port', int(0, 65535), 0)
    .option('--data-dir <dir>', 'persist objects here (default: in memory)')
    .option('--kubeconfig <path>', 'write a kubeconfig for it here (default .vmsafe/kubeconfig or DATA_DIR/kubeconfig)')
    .option('--crd-dir <dir>', 'CRDs to install at start')
    .option('--token <t>', 'bearer token clients must present (default: random)')
    .option('--log-level <level>', 'pino level (default info, or $VMSAFE_LOG_LEVEL)')
    .action(act(apiserver));
}

export const run = (argv: string[]) => runCommand(command(), argv);

interface ApiserverFlags {
  port: number;
  dataDir?: string;
  kubeconfig?: string;
  crdDir?: string;
  token?: string;
  logLevel?: string;
}

async function apiserver(f: ApiserverFlags): Promise<number> {
  const values = { ...f, 'log-level': f.logLevel, 'data-dir': f.dataDir, 'crd-dir': f.crdDir };
  const logger = createLogger({ level: values['log-level'] ?? process.env.VMSAFE_LOG_LEVEL ?? 'info', name: 'vmsafe-apiserver' });
  const server = await startApiServer({
    port: Number(values.port),
    dataDir: values['data-dir'],
    crdDir: values['crd-dir'],
    token: values.token,
    logger,
  });
  const kubeconfig = resolve(values.kubeconfig ?? (values['data-dir'] ? `${values['data-dir']}/kubeconfig` : '.vmsafe/kubeconfig'));
  writeKubeconfig(kubeconfig, { url: server.url, token: server.token, caCert: server.caCert });
  process.stdout.write(`API server listening on ${server.url}\nexport KUBECONFIG=${kubeconfig}\n`);
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void server.close().then(done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}
