// `vmsafe-operator/testing`: what users need to unit-test their own controllers against vmsafe.io
// objects: the embedded API server (real HTTP, our CRDs installed, a kubeconfig for
// @kubernetes/client-node or kubectl) and fixture builders that produce valid, decoded objects.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer, writeKubeconfig, type ApiServer, type ApiServerOptions } from '../apiserver/index';
import { packageRoot } from '../util/package-root';

export * from './fixtures';
export type { ApiServer, ApiServerOptions };

export interface TestCluster {
  /** https://127.0.0.1:PORT */
  url: string;
  /** A kubeconfig file for this server (KUBECONFIG=... kubectl, or KubeConfig.loadFromFile). */
  kubeconfigPath: string;
  server: ApiServer;
  /** Stop the server and remove the kubeconfig. */
  close(): Promise<void>;
}

/**
 * An embedded API server on a free local port with the vmsafe.io CRDs installed (pass `crds: false`
 * for none), in memory unless `dataDir` is given.
 */
export async function startTestCluster(opts: Partial<ApiServerOptions> & { crds?: boolean } = {}): Promise<TestCluster> {
  const { crds, ...rest } = opts;
  const server = await startApiServer({ port: 0, ...(crds === false ? {} : { crdDir: join(packageRoot(), 'crds') }), ...rest });
  const dir = mkdtempSync(join(tmpdir(), 'vmsafe-test-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeKubeconfig(kubeconfigPath, { url: server.url, token: server.token, caCert: server.caCert });
  return {
    url: server.url,
    kubeconfigPath,
    server,
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
