// The whole system on one machine: embedded API server with our CRDs, the operator, and an agent per
// Host, in one process. Used by `vmsafe dev`, the end-to-end tests and the benchmarks.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { loadAll } from 'js-yaml';
import { dirname, join, resolve } from 'node:path';
import { AgentFleet } from '../agent/fleet';
import { startApiServer, writeKubeconfig, type ApiServer } from '../apiserver/index';
import { TENANT_ADMIN_CLUSTERROLE, SYSTEM_NAMESPACE } from '../controllers/names';
import { startOperator, type Operator } from '../controllers/operator';
import { KubeClient, type KubeObject, type ResourceInfo } from '../runtime/client';
import { isAlreadyExists } from '../runtime/errors';
import type { Logger } from '../util/log';
import { packageRoot } from '../util/package-root';

/** The package root: crds/ and examples/ ship with the package. */
export const REPO_ROOT = packageRoot();

export interface DevStackOptions {
  logger: Logger;
  port?: number;
  dataDir?: string;
  kubeconfigPath?: string;
  /** Start the operator and the agents (default true); false = API server only. */
  controllers?: boolean;
  agents?: boolean;
  heartbeatMs?: number;
  leaseSeconds?: number;
  leaderElection?: boolean;
  /** Operator option: address groups of at least this many entries are shared AddressGroup objects. */
  sharedGroupMinAddresses?: number;
}

export interface DevStack {
  server: ApiServer;
  client: KubeClient;
  kubeconfigPath: string;
  operator?: Operator;
  fleet?: AgentFleet;
  stop(): Promise<void>;
}

/** Objects every installation has: the system namespace and the role tenant admins get. */
export const BOOTSTRAP: Array<{ info: ResourceInfo; obj: KubeObject & Record<string, unknown> }> = [
  {
    info: { group: '', version: 'v1', plural: 'namespaces', namespaced: false, kind: 'Namespace' },
    obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: SYSTEM_NAMESPACE } },
  },
  {
    info: { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'clusterroles', namespaced: false, kind: 'ClusterRole' },
    obj: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: TENANT_ADMIN_CLUSTERROLE },
      rules: [
        { apiGroups: ['vmsafe.io'], resources: ['vms', 'securitypolicies'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
        { apiGroups: ['vmsafe.io'], resources: ['vms/status', 'securitypolicies/status'], verbs: ['get'] },
      ],
    },
  },
];

const ADMISSION_GROUP = 'admissionregistration.k8s.io';

/** manifests/admission.yaml's ValidatingAdmissionPolicies and bindings. */
function admissionPolicies(): typeof BOOTSTRAP {
  const docs = loadAll(readFileSync(join(REPO_ROOT, 'manifests', 'admission.yaml'), 'utf8')) as (KubeObject & Record<string, unknown>)[];
  return docs.filter(Boolean).map((obj) => {
    const binding = obj.kind === 'ValidatingAdmissionPolicyBinding';
    const info: ResourceInfo = {
      group: ADMISSION_GROUP, version: 'v1', namespaced: false, kind: obj.kind,
      plural: binding ? 'validatingadmissionpolicybindings' : 'validatingadmissionpolicies',
    };
    return { info, obj };
  });
}

export async function startDevStack(opts: DevStackOptions): Promise<DevStack> {
  const log = opts.logger;
  const server = await startApiServer({
    port: opts.port ?? 0,
    dataDir: opts.dataDir,
    crdDir: join(REPO_ROOT, 'crds'),
    logger: log.child({ component: 'apiserver' }),
  });
  const kubeconfigPath = resolve(opts.kubeconfigPath ?? join(opts.dataDir ?? '.vmsafe', 'kubeconfig'));
  mkdirSync(dirname(kubeconfigPath), { recursive: true });
  writeKubeconfig(kubeconfigPath, { url: server.url, token: server.token, caCert: server.caCert });
  const client = new KubeClient({ file: kubeconfigPath });
  // The admission policies a cluster gets from manifests/ (tiers by namespace, provider-only pins,
  // agents write only their own host), so `vmsafe dev` refuses what a cluster would.
  for (const { info, obj } of [...BOOTSTRAP, ...admissionPolicies()]) {
    try {
      await client.resource(info).create(obj);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }
  let operator: Operator | undefined;
  let fleet: AgentFleet | undefined;
  if (opts.controllers !== false) {
    operator = await startOperator({
      kubeconfig: { file: kubeconfigPath },
      logger: log,
      leaderElection: { enabled: opts.leaderElection ?? false },
      sharedGroupMinAddresses: opts.sharedGroupMinAddresses,
    });
  }
  if (opts.agents !== false) {
    fleet = new AgentFleet({
      client,
      logger: log,
      agent: { heartbeatMs: opts.heartbeatMs ?? 2000, leaseDurationSeconds: opts.leaseSeconds ?? 8 },
    }).start();
  }
  return {
    server,
    client,
    kubeconfigPath,
    operator,
    fleet,
    async stop() {
      await fleet?.stop();
      await operator?.stop();
      client.close();
      await server.close();
    },
  };
}

/**
 * `kubectl apply -f` with the real kubectl (`make dev` installs it), against the stack. Asynchronous
 * on purpose: the API server runs in this process and must keep serving while kubectl talks to it.
 */
export function applyManifests(stack: Pick<DevStack, 'kubeconfigPath'>, paths: string[]): Promise<string> {
  const kubectl = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((p) => existsSync(p)) ?? 'kubectl';
  return new Promise((done, fail) => {
    const child = spawn(kubectl, ['apply', ...paths.flatMap((p) => ['-f', p])], {
      env: { ...process.env, KUBECONFIG: stack.kubeconfigPath },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (err) => fail(new Error(`cannot run kubectl (${err.message}); install it (Debian: kubernetes-client)`)));
    child.on('close', (code) => {
      if (code !== 0) fail(new Error(`kubectl apply failed: ${stderr}`));
      else done(`kubectl apply: ${stdout.trim().split('\n').length} objects`);
    });
  });
}
