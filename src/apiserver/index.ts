// Embedded Kubernetes-compatible API server: the real kubectl and @kubernetes/client-node
// (informers included) work against it. Public interface:
//
//   startApiServer({ port?: number (0 = free), host?: '127.0.0.1', token?, dataDir?, logger?, crdDir?,
//                    tls? (default true), bookmarkIntervalMs?, historyLimit? }) -> Promise<ApiServer>
//   ApiServer: { url, token, port, caCert, close(), store, api, kubeconfig(): string,
//                dropAllWatches(), compactHistory(), writeCounts(resourceKey) }   (last three: test hooks)
//   writeKubeconfig(path, { url, token, caCert? }) -> writes a kubeconfig file (mode 0600)
//
// The server speaks HTTPS with a self-signed certificate by default (kubectl sends bearer tokens
// only over TLS); `caCert` is that certificate and kubeconfig() embeds it.
//
// Resource keys (store, writeCounts) are "group/plural": "vmsafe.io/vms", "/namespaces".
// Module map: server.ts (routing, auth) -> api.ts (verbs, strategies, GC) -> store.ts (objects, RVs,
// watch fan-out) + wal.ts (--data-dir); schema.ts (CRD validation), managed.ts (managedFields, SSA),
// watch.ts, table.ts, openapi.ts, discovery.ts, protobuf.ts, tls.ts.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import YAML from 'yaml';
import { silentLogger, type Logger } from '../util/log';
import { Api, type WriteCtx } from './api';
import { createAuth, type StaticUser } from './auth';
import { loadOrCreateSigningKey } from './auth/tokens';
import { OpenApiCache } from './openapi';
import { Registry } from './resources';
import { createRouter } from './server';
import { Store, type Obj, type ResourceStats } from './store';
import { publishRootCa } from './rootca';
import { loadOrCreateServingCert } from './tls';
import { loadDataDir, Wal, type Loaded } from './wal';
import { loadOrCreateToken } from './token';
import { WatchHub } from './watch';

export interface ApiServerOptions {
  /** TCP port; 0 or undefined picks a free one. */
  port?: number;
  host?: '127.0.0.1';
  /** Bearer token of the admin (user vmsafe-admin, group system:masters); when omitted: the data dir's saved one, else a new random one (saved there). */
  token?: string;
  /** More users by bearer token (like kube's --token-auth-file); RBAC decides what they may do. */
  users?: StaticUser[];
  /** Durable state (checksummed log + snapshot, token, certificate); in memory only when omitted. */
  dataDir?: string;
  /** Start from a damaged data dir by truncating at the first damaged record (reports what was dropped). */
  recover?: boolean;
  /** Compact the data dir's log once it holds this many bytes (default 256 MiB). */
  compactBytes?: number;
  logger?: Logger;
  /** Install every CRD found in *.yaml / *.yml / *.json files of this directory at startup. */
  crdDir?: string;
  /** Interval of BOOKMARK events on watches that allow them (default 5 s). */
  bookmarkIntervalMs?: number;
  /** Bytes the server holds for one slow watcher, and for all together, before dropping them (default 64 and 256 MiB). */
  watchBuffer?: { perWatchBytes?: number; totalBytes?: number };
  /** Time a client has to send a whole request, headers and body (default 60 s, then 408). */
  requestTimeoutMs?: number;
  /** Events kept per resource for watch resume (default 10,000). */
  historyLimit?: number;
  /**
   * Serve HTTPS with a self-signed certificate (default true). kubectl only sends bearer tokens
   * over TLS; plain HTTP is for in-process clients that do not need kubectl.
   */
  tls?: boolean;
}

export interface ApiServer {
  url: string;
  token: string;
  port: number;
  /** PEM of the serving certificate (its own CA), undefined over plain HTTP. */
  caCert: string | undefined;
  store: Store;
  api: Api;
  close(): Promise<void>;
  /** kubeconfig YAML pointing at this server with its token. */
  kubeconfig(): string;
  /** Test hook: end every open watch; clients resume from their last resourceVersion. */
  dropAllWatches(): void;
  /** Test hook: forget all watch history, so resuming from any older resourceVersion gets 410 Gone. */
  compactHistory(): void;
  /** Creates/updates/deletes so far of one resource ("vmsafe.io/vms"). */
  writeCounts(resourceKey: string): ResourceStats;
}

export const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export interface KubeconfigOptions {
  url: string;
  token: string;
  /** PEM CA certificate for https URLs. */
  caCert?: string;
  namespace?: string;
}

export function kubeconfigYaml(opts: KubeconfigOptions): string {
  const cluster: Record<string, string> = { server: opts.url };
  if (opts.caCert) cluster['certificate-authority-data'] = Buffer.from(opts.caCert).toString('base64');
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'vmsafe', cluster }],
    users: [{ name: 'vmsafe', user: { token: opts.token } }],
    contexts: [{ name: 'vmsafe', context: { cluster: 'vmsafe', user: 'vmsafe', namespace: opts.namespace ?? 'default' } }],
    'current-context': 'vmsafe',
    preferences: {},
  });
}

export function writeKubeconfig(path: string, opts: KubeconfigOptions): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, kubeconfigYaml(opts), { mode: 0o600 });
}

/** CRD documents from a directory of YAML/JSON files (other kinds are skipped). */
export function readCrdDir(dir: string): Obj[] {
  const out: Obj[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!/\.(ya?ml|json)$/.test(f)) continue;
    for (const doc of YAML.parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      const o = doc.toJSON() as Obj | null;
      if (o?.kind === 'CustomResourceDefinition') out.push(o);
    }
  }
  return out;
}

export async function startApiServer(opts: ApiServerOptions = {}): Promise<ApiServer> {
  const log = (opts.logger ?? silentLogger).child({ component: 'apiserver' });
  const store = new Store(opts.historyLimit);
  const registry = new Registry();
  const api = new Api(store, registry, log);

  let loaded: Loaded | undefined;
  if (opts.dataDir) {
    const started = performance.now();
    loaded = loadDataDir(opts.dataDir, (rec) => store.replay(rec), { recover: opts.recover, log });
    store.resetHistory();
    for (const crd of store.res('apiextensions.k8s.io/customresourcedefinitions').objects.values()) api.installCrd(crd);
    log.info({ dataDir: opts.dataDir, records: loaded.records, resourceVersion: store.rv, ms: Math.round(performance.now() - started) }, 'state restored');
  }
  if (opts.dataDir) {
    store.wal = await Wal.open(opts.dataDir, loaded!, () => ({
      rv: store.rv,
      objects: [...store.resources.values()].flatMap((r) => [...r.objects.values()].map((obj) => ({ res: r.key, obj }))),
    }), { log, compactBytes: opts.compactBytes });
  }
  // After loading: a data dir with a token but no log was used before and must not start empty.
  const token = opts.token ?? (opts.dataDir ? loadOrCreateToken(opts.dataDir) : randomBytes(24).toString('hex'));
  for (const ns of DEFAULT_NAMESPACES) api.ensureNamespace(ns);
  if (opts.crdDir) await installCrds(api, readCrdDir(opts.crdDir));
  if (opts.dataDir) api.resumeBackgroundWork();

  const watches = new WatchHub(api);
  if (opts.bookmarkIntervalMs) watches.bookmarkIntervalMs = opts.bookmarkIntervalMs;
  if (opts.watchBuffer?.perWatchBytes) watches.maxBufferedPerWatch = opts.watchBuffer.perWatchBytes;
  if (opts.watchBuffer?.totalBytes) watches.maxBufferedTotal = opts.watchBuffer.totalBytes;
  const openapi = new OpenApiCache(registry);
  const host = opts.host ?? '127.0.0.1';
  let address = '';
  // A client must finish sending its request (headers and body) in time, authenticated or not: a slow
  // body must not hold a connection for ever. Responses (watches) are not limited by this.
  const requestTimeout = opts.requestTimeoutMs ?? 60_000;
  const serverOpts = {
    keepAliveTimeout: 65_000, requestTimeout, headersTimeout: Math.min(30_000, requestTimeout),
    connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(requestTimeout / 4))),
  };
  const tls = opts.tls === false ? undefined : loadOrCreateServingCert(opts.dataDir);
  // kube-root-ca.crt in every namespace (the serving certificate is its own CA); none over plain HTTP.
  const stopRootCa = tls ? publishRootCa(api, tls.cert, log) : () => undefined;
  const server: Server = tls ? createHttpsServer({ ...serverOpts, ...tls }) : createHttpServer(serverOpts);
  const auth = createAuth({ adminToken: token, users: opts.users, signingKey: loadOrCreateSigningKey(opts.dataDir), store });
  const router = createRouter({ api, registry, openapi, watches, auth, log, serverAddress: () => address });
  server.on('request', (req, res) => void router(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  address = `${host}:${port}`;
  const url = `${tls ? 'https' : 'http'}://${host}:${port}`;
  log.info({ url }, 'API server listening');

  return {
    url, token, port, store, api, caCert: tls?.cert,
    kubeconfig: () => kubeconfigYaml({ url, token, caCert: tls?.cert }),
    dropAllWatches: () => watches.dropAll(),
    compactHistory: () => store.resetHistory(),
    writeCounts: (key) => ({ ...store.res(key).stats }),
    close: async () => {
      stopRootCa();
      watches.dropAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await store.wal?.close();
    },
  };
}

/** Creates or updates each CRD (startup installation from --crd-dir). */
export async function installCrds(api: Api, crds: Obj[]): Promise<void> {
  const def = api.registry.get('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;
  const ctx = (): WriteCtx => ({ manager: 'vmsafe-apiserver', dryRun: false, fieldValidation: 'Ignore', warnings: [] });
  for (const crd of crds) {
    const existing = api.store.get(def.key, crd.metadata.name);
    if (existing) {
      const next = structuredClone(crd);
      next.metadata = { ...next.metadata, resourceVersion: existing.metadata.resourceVersion };
      await api.update(def, undefined, crd.metadata.name, next, ctx());
    } else await api.create(def, undefined, structuredClone(crd), ctx());
  }
}
