// `vmsafe apiserver [--port N] [--data-dir DIR] [--recover] [--compact-bytes N] [--kubeconfig PATH] [--crd-dir DIR]
//                   [--token T | --token-file F | env VMSAFE_TOKEN]`:
// runs only the embedded API server and prints how to point kubectl at it.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startApiServer, writeKubeconfig } from '../../apiserver/index';
import { readTokenFile } from '../../apiserver/token';
import { DataDirError } from '../../apiserver/wal';
import { createLogger } from '../../util/log';

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string', default: '0' },
        'data-dir': { type: 'string' },
        recover: { type: 'boolean', default: false },
        'compact-bytes': { type: 'string' },
        kubeconfig: { type: 'string' },
        'crd-dir': { type: 'string' },
        token: { type: 'string' },
        'token-file': { type: 'string' },
        'log-level': { type: 'string' },
      },
    }));
  } catch (e) {
    process.stderr.write(`vmsafe apiserver: ${(e as Error).message}\n`);
    return 2;
  }
  const sources = [values.token !== undefined, values['token-file'] !== undefined].filter(Boolean).length;
  if (sources > 1) {
    process.stderr.write('vmsafe apiserver: --token and --token-file are exclusive\n');
    return 2;
  }
  if (values.recover && !values['data-dir']) {
    process.stderr.write('vmsafe apiserver: --recover needs --data-dir\n');
    return 2;
  }
  const compactBytes = values['compact-bytes'] === undefined ? undefined : Number(values['compact-bytes']);
  if (compactBytes !== undefined && !(Number.isInteger(compactBytes) && compactBytes > 0)) {
    process.stderr.write(`vmsafe apiserver: --compact-bytes must be a positive integer, got "${values['compact-bytes']}"\n`);
    return 2;
  }
  let token: string | undefined;
  try {
    // argv shows in `ps`: prefer --token-file or VMSAFE_TOKEN.
    token = values['token-file'] !== undefined ? readTokenFile(values['token-file']) : (values.token ?? (process.env.VMSAFE_TOKEN || undefined));
  } catch (e) {
    process.stderr.write(`vmsafe apiserver: ${(e as Error).message}\n`);
    return 2;
  }
  const logger = createLogger({ level: values['log-level'] ?? process.env.VMSAFE_LOG_LEVEL ?? 'info', name: 'vmsafe-apiserver' });
  let server;
  try {
    server = await startApiServer({
      port: Number(values.port),
      dataDir: values['data-dir'],
      recover: values.recover,
      compactBytes,
      crdDir: values['crd-dir'],
      token,
      logger,
    });
  } catch (e) {
    if (e instanceof DataDirError) {
      process.stderr.write(`vmsafe apiserver: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
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
