// `vmsafe apiserver [--port N] [--data-dir DIR] [--recover] [--compact-bytes N] [--kubeconfig PATH] [--crd-dir DIR]
//                   [--token T | --token-file F | env VMSAFE_TOKEN] [--token-auth-file F]`:
// runs only the embedded API server and prints how to point kubectl at it.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseTokenFile, TokenFileError } from '../../apiserver/auth/tokenfile';
import { startApiServer, writeKubeconfig } from '../../apiserver/index';
import { readTokenFile } from '../../apiserver/token';
import { DataDirError } from '../../apiserver/wal';
import { createLogger } from '../../util/log';
import { act, Command, int, runCommand, verb } from '../program';
import { applyHeapGrowth, heapGrowthFlag } from '../heap';

export function command(): Command {
  return verb('apiserver', 'run only the embedded API server')
    .option('--port <n>', 'listen port, 0 = any free port', int(0, 65535), 0)
    .option('--data-dir <dir>', 'persist objects here (default: in memory)')
    .option('--recover', 'start from a damaged data dir by truncating at the first damaged record (reports what was dropped)', false)
    .option('--compact-bytes <n>', 'compact the log once it holds this many bytes (default 256 MiB)', int(1, Number.MAX_SAFE_INTEGER))
    .option('--kubeconfig <path>', 'write a kubeconfig for it here (default .vmsafe/kubeconfig or DATA_DIR/kubeconfig)')
    .option('--crd-dir <dir>', 'CRDs to install at start')
    .option('--token <t>', "admin bearer token (default: the data dir's saved one, else random); prefer --token-file or VMSAFE_TOKEN: argv shows in ps")
    .option('--token-file <file>', 'read the admin bearer token from this file')
    .option('--token-auth-file <file>', "more users: kube's static token CSV (token,user,uid,\"group1,group2\")")
    .option('--log-level <level>', 'pino level (default info, or $VMSAFE_LOG_LEVEL)')
    .addOption(heapGrowthFlag())
    .action(act(apiserver));
}

export const run = (argv: string[]) => runCommand(command(), argv);

interface ApiserverFlags {
  heapGrowthPercent: number;
  port: number;
  dataDir?: string;
  recover: boolean;
  compactBytes?: number;
  kubeconfig?: string;
  crdDir?: string;
  token?: string;
  tokenFile?: string;
  tokenAuthFile?: string;
  logLevel?: string;
}

const fail = (msg: string, code = 2) => {
  process.stderr.write(`vmsafe apiserver: ${msg}\n`);
  return code;
};

async function apiserver(f: ApiserverFlags): Promise<number> {
  applyHeapGrowth(f.heapGrowthPercent);
  if (f.token !== undefined && f.tokenFile !== undefined) return fail('--token and --token-file are exclusive');
  if (f.recover && !f.dataDir) return fail('--recover needs --data-dir');
  let token: string | undefined;
  try {
    token = f.tokenFile !== undefined ? readTokenFile(f.tokenFile) : (f.token ?? (process.env.VMSAFE_TOKEN || undefined));
  } catch (e) {
    return fail((e as Error).message);
  }
  let users;
  if (f.tokenAuthFile) {
    const file = f.tokenAuthFile;
    try {
      users = parseTokenFile(readFileSync(file, 'utf8'), file);
    } catch (e) {
      return fail(`--token-auth-file: ${e instanceof TokenFileError ? e.message : `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`}`);
    }
  }
  const logger = createLogger({ level: f.logLevel ?? process.env.VMSAFE_LOG_LEVEL ?? 'info', name: 'vmsafe-apiserver' });
  let server;
  try {
    server = await startApiServer({ port: f.port, dataDir: f.dataDir, recover: f.recover, compactBytes: f.compactBytes, crdDir: f.crdDir, token, users, logger });
  } catch (e) {
    if (e instanceof DataDirError) return fail(e.message, 1);
    throw e;
  }
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
