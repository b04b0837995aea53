// `vmsafe apiserver [--port N] [--data-dir DIR] [--kubeconfig PATH] [--crd-dir DIR] [--token T] [--token-auth-file F]`:
// runs only the embedded API server and prints how to point kubectl at it.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseTokenFile, TokenFileError } from '../../apiserver/auth/tokenfile';
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
      'token-auth-file': { type: 'string' },
      'log-level': { type: 'string' },
    },
  });
  let users;
  if (values['token-auth-file']) {
    const file = values['token-auth-file'];
    try {
      users = parseTokenFile(readFileSync(file, 'utf8'), file);
    } catch (e) {
      const why = e instanceof TokenFileError ? e.message : `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
      process.stderr.write(`vmsafe apiserver: --token-auth-file: ${why}\n`);
      return 2;
    }
  }
  const logger = createLogger({ level: values['log-level'] ?? process.env.VMSAFE_LOG_LEVEL ?? 'info', name: 'vmsafe-apiserver' });
  const server = await startApiServer({
    port: Number(values.port),
    dataDir: values['data-dir'],
    crdDir: values['crd-dir'],
    token: values.token,
    users,
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
