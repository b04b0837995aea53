// Shared by the runtime integration tests: a real embedded API server with our CRDs, and small builders.
import { startApiServer, type ApiServer } from '../../src/apiserver';
import { KubeClient, NAMESPACES } from '../../src/runtime/client';

export interface TestEnv {
  server: ApiServer;
  client: KubeClient;
  close(): Promise<void>;
}

export async function startEnv(opts: { dataDir?: string; port?: number; token?: string } = {}): Promise<TestEnv> {
  const server = await startApiServer({ port: opts.port ?? 0, crdDir: 'crds', dataDir: opts.dataDir, token: opts.token });
  const client = new KubeClient({ yaml: server.kubeconfig() });
  return {
    server,
    client,
    async close() {
      client.close();
      await server.close();
    },
  };
}

export async function ensureNamespace(client: KubeClient, name: string): Promise<void> {
  const rc = client.resource(NAMESPACES);
  if (!(await rc.tryGet(name))) await rc.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

/** Poll `cond` (sync or async) until true; fails after `ms`. No fixed sleeps. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const host = (name: string, tags: string[] = []) => ({
  apiVersion: 'vmsafe.io/v1alpha1',
  kind: 'Host',
  metadata: { name },
  spec: { tags, networks: [{ name: 'prod', tags: [] }] },
});

export const vm = (ns: string, name: string, hostName?: string, macs = ['02:00:00:00:00:01']) => ({
  apiVersion: 'vmsafe.io/v1alpha1',
  kind: 'VM',
  metadata: { name, namespace: ns },
  spec: {
    ...(hostName ? { hostName } : {}),
    vnics: macs.map((mac, i) => ({ name: `eth${i}`, network: 'prod', ip: `10.0.0.${i + 1}`, mac })),
  },
});
