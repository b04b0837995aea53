// kube-controller-manager's root-ca-cert-publisher: a ConfigMap "kube-root-ca.crt" with the serving
// CA (ca.crt) in every namespace, created with the namespace, recreated when deleted and restored when
// changed. Level-based: every trigger (startup, a namespace event, an event on such a ConfigMap) maps
// to a namespace key, and reconciling a key compares the stored ConfigMap with the desired one.
import type { Logger } from '../util/log';
import type { Api, WriteCtx } from './api';
import { ApiError } from './errors';
import type { Obj, StoreEvent } from './store';

export const ROOT_CA_NAME = 'kube-root-ca.crt';
const NS_KEY = '/namespaces';
const CM_KEY = '/configmaps';
const DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

/** The desired ConfigMap of one namespace. */
export function rootCaConfigMap(namespace: string, caCert: string): Obj {
  return {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: ROOT_CA_NAME, namespace, annotations: { 'kubernetes.io/description': DESCRIPTION } },
    data: { 'ca.crt': caCert },
  };
}

/** What to write for one namespace: nothing, create, or restore (pure; table-tested). */
export function decideRootCa(ns: Obj | undefined, current: Obj | undefined, caCert: string): 'none' | 'create' | 'update' {
  if (!ns || ns.metadata?.deletionTimestamp) return 'none';
  if (!current) return 'create';
  if (current.metadata?.deletionTimestamp) return 'none';
  const want = rootCaConfigMap(ns.metadata.name, caCert);
  const same = current.data?.['ca.crt'] === caCert && Object.keys(current.data ?? {}).length === 1 && !current.binaryData
    && current.metadata?.annotations?.['kubernetes.io/description'] === want.metadata.annotations['kubernetes.io/description'];
  return same ? 'none' : 'update';
}

/** Starts publishing; returns a stop function. */
export function publishRootCa(api: Api, caCert: string, log: Logger): () => void {
  const def = api.registry.get('', 'v1', 'configmaps')!;
  const ctx = (): WriteCtx => ({ manager: 'kube-controller-manager', dryRun: false, fieldValidation: 'Ignore', warnings: [] });
  const queued = new Set<string>();
  let stopped = false;

  const reconcile = async (name: string) => {
    const ns = api.store.get(NS_KEY, name);
    const current = api.store.get(CM_KEY, `${name}/${ROOT_CA_NAME}`);
    const action = decideRootCa(ns, current, caCert);
    if (action === 'none') return;
    const want = rootCaConfigMap(name, caCert);
    if (action === 'create') await api.create(def, name, want, ctx());
    else {
      want.metadata = { ...current!.metadata, annotations: { ...(current!.metadata.annotations ?? {}), ...want.metadata.annotations } };
      await api.update(def, name, ROOT_CA_NAME, want, ctx());
    }
  };
  const enqueue = (name: string) => {
    if (stopped || queued.has(name)) return;
    queued.add(name);
    setImmediate(() => {
      queued.delete(name);
      reconcile(name).catch((e: unknown) => {
        // A concurrent write (409) or a namespace going away: the event that follows re-enqueues.
        if (e instanceof ApiError && (e.code === 409 || e.code === 404 || e.code === 403)) return;
        log.warn({ err: e, namespace: name }, 'kube-root-ca.crt not published');
      });
    });
  };

  const nsWatcher = { deliver: (_t: string, ev: StoreEvent) => enqueue(ev.obj.metadata.name) };
  const cmWatcher = {
    matches: (o: Obj) => o.metadata?.name === ROOT_CA_NAME,
    deliver: (_t: string, ev: StoreEvent) => enqueue(ev.obj.metadata.namespace),
  };
  api.store.res(NS_KEY).addWatcher(nsWatcher);
  api.store.res(CM_KEY).addWatcher(cmWatcher);
  for (const ns of api.store.res(NS_KEY).objects.values()) enqueue(ns.metadata.name);
  return () => {
    stopped = true;
    api.store.res(NS_KEY).removeWatcher(nsWatcher);
    api.store.res(CM_KEY).removeWatcher(cmWatcher);
  };
}
