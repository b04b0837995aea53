// `vmsafe apiserver [--port N] [--data-dir DIR] [--kubeconfig PATH] [--crd-dir DIR] [--token T]`:
// runs only the embedded API server and prints how to point kubectl at it.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startApiServer, writeKubeconfig } from '../../apiserver/index';
import { createLogger } from '../../util/log';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '0' },
      'data-dir': { type: 'string' },
      kubeconfig: { type: 'string' },
      'crd-dir': { type: 'string' },
      token: { type: 'string' },
      'log-level': { type: 'string' },
    },
  });
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
