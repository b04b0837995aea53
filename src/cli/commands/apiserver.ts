// `vmsafe apiserver [--port N] [--data-dir DIR] [--kubeconfig PATH] [--crd-dir DIR] [--token T] [--token-auth-file F]`:
// runs only the embedded API server and prints how to point kubectl at it.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseTokenFile, TokenFileError } from '../../apiserver/auth/tokenfile';
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
    .option('--token-auth-file <file>', "more users: kube's static token CSV (token,user,uid,\"group1,group2\")")
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
  tokenAuthFile?: string;
  logLevel?: string;
}

async function apiserver(f: ApiserverFlags): Promise<number> {
  let users;
  if (f.tokenAuthFile) {
    const file = f.tokenAuthFile;
    try {
      users = parseTokenFile(readFileSync(file, 'utf8'), file);
    } catch (e) {
      const why = e instanceof TokenFileError ? e.message : `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
      process.stderr.write(`vmsafe apiserver: --token-auth-file: ${why}\n`);
      return 2;
    }
  }
  const logger = createLogger({ level: f.logLevel ?? process.env.VMSAFE_LOG_LEVEL ?? 'info', name: 'vmsafe-apiserver' });
  const server = await startApiServer({ port: f.port, dataDir: f.dataDir, crdDir: f.crdDir, token: f.token, users, logger });
  const kubeconfig = resolve(f.kubeconfig ?? (f.dataDir ? `${f.dataDir}/kubeconfig` : '.vmsafe/kubeconfig'));
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
