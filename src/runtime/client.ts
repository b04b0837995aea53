// Client factory: one KubeConfig, one keep-alive connection pool, typed resource clients for our kinds
// (and any other resource), errors mapped to ApiError.
//
// Requests go through client-node's request pipeline (ServerConfiguration → RequestContext) and its
// KubeConfig authentication (tokens, client certs, exec plugins). client-node builds a fresh
// http(s).Agent for every request (no connection reuse); we swap in one shared keep-alive agent with
// the same TLS options, so thousands of status writes reuse a few sockets, and send with Node's
// http/https (http.ts) rather than node-fetch. Watches (watch.ts) go through the same pipeline and
// authentication, on a second keep-alive agent without a socket limit: a fleet of agents holds one
// watch each, and watches must never wait for a request's socket nor make requests wait for theirs.
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import {
  HttpMethod, KubeConfig, ServerConfiguration, createConfiguration, wrapHttpLibrary,
  type ApiType, type RequestContext, type SecurityAuthentication,
} from '@kubernetes/client-node';
import { GROUP, KIND_BY_NAME, VERSION } from '../api';
import { parseListItems, type ItemMemberDrops, type PartTexts } from './strip-managed';
import { ApiError, toApiError } from './errors';
import { createRequire } from 'node:module';
import type { Agent as UndiciAgent } from 'undici';
import { NodeHttpLibrary, sendThrough } from './http';
import { realClock, sleep, type Clock } from './clock';
import { TokenBucket } from './ratelimit';
import { namespacedKey } from '../util/flat-string';

/**
 * undici's connection pool, loaded from its own module: the package's index loads every part of it
 * (fetch, WebSocket, caches, mocks) in about 80 ms, its Agent in about 20, and every command that
 * talks to a cluster pays that at start.
 */
const UndiciAgentCtor: typeof UndiciAgent = createRequire(import.meta.url)('undici/lib/dispatcher/agent.js');

type ApiConstructor<T extends ApiType> = new (config: ReturnType<typeof createConfiguration>) => T;

/** Where a resource lives in the API. `group: ''` is the core group (/api/v1). */
export interface ResourceInfo {
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
  kind?: string;
}

export interface ObjectRef {
  name: string;
  namespace?: string;
}

/** The minimal object shape the runtime relies on. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    finalizers?: string[];
    [k: string]: unknown;
  };
  status?: unknown;
  [k: string]: unknown;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  /**
   * Drop these members of every item before the list is parsed (an informer that throws them away
   * anyway), e.g. MANAGED_FIELDS: `{ metadata: ['managedFields'] }`.
   */
  dropItemMembers?: ItemMemberDrops;
  /**
   * With dropItemMembers: cut these members of each item and hand over their texts (listedPartTexts);
   * the caller must put them back.
   */
  partTexts?: PartTexts;
}

export interface ObjectList<T> {
  items: T[];
  metadata: { resourceVersion?: string; continue?: string };
}

export type PatchType = 'merge' | 'json';
const PATCH_CONTENT_TYPE: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
};

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  preconditions?: { resourceVersion?: string; uid?: string };
}

/** Load a KubeConfig: a given object, a file path, YAML text, or kubectl's default lookup. */
export function loadKubeConfig(src?: KubeConfig | { file?: string; yaml?: string }): KubeConfig {
  if (src instanceof KubeConfig) return allowPlainHttp(src);
  const kc = new KubeConfig();
  if (src?.yaml) kc.loadFromString(src.yaml);
  else if (src?.file) kc.loadFromFile(src.file);
  else kc.loadFromDefault();
  return allowPlainHttp(kc);
}

/**
 * client-node refuses an http:// server unless skipTLSVerify is set ("HTTP protocol is not allowed
 * when skipTLSVerify is not set"); with plain HTTP there is no TLS to verify, so set it for those.
 */
function allowPlainHttp(kc: KubeConfig): KubeConfig {
  if (kc.clusters.some((c) => c.server.startsWith('http:') && !c.skipTLSVerify)) {
    kc.clusters = kc.clusters.map((c) => (c.server.startsWith('http:') ? { ...c, skipTLSVerify: true } : c));
  }
  return kc;
}

/**
 * How long the headers the kubeconfig's authentication produced are reused. client-node's
 * applySecurityAuthentication reads and decodes the CA, certificate and key and builds an https.Agent
 * on every call (2.5 % of the operator's CPU while it writes statuses); client-go re-reads a token file
 * at most once a minute. A rotated or refreshed token is picked up within this time.
 */
export const AUTH_REUSE_MS = 10_000;

/**
 * The agent with its sockets pooled by address only (http.Agent's getName: host, port, local address,
 * family). https.Agent's getName appends the TLS options to that key on every request: the kubeconfig's
 * CA, certificate and key, Buffers decoded to text each time (1.4 µs), and the ~5 KB key is then looked
 * up in the agent's socket tables several times per request. Every request through this agent carries
 * the agent's own TLS options, so they tell no two requests apart.
 */
function poolByAddress<A extends http.Agent>(agent: A): A {
  const byAddress = http.Agent.prototype.getName;
  agent.getName = (options) => byAddress.call(agent, options);
  return agent;
}

/** KubeConfig authentication, with the per-request agent replaced by one shared keep-alive agent. */
class KeepAliveAuth implements SecurityAuthentication {
  private agent: http.Agent | undefined;
  /** The same agent's options without a socket limit, for watches. */
  private streamAgent: http.Agent | undefined;
  /** The connection pool that sends the agent's requests (see sendThrough). */
  private pool: UndiciAgent | undefined;
  private reuse: { until: number; headers: [string, string][] } | undefined;
  constructor(
    private readonly kc: KubeConfig,
    private readonly reuseMs = AUTH_REUSE_MS,
    private readonly clock: Clock = realClock,
  ) {}
  getName(): string {
    return 'vmsafe-keepalive';
  }
  async applySecurityAuthentication(ctx: RequestContext): Promise<void> {
    const now = this.clock.now();
    if (this.agent && this.reuse && now < this.reuse.until) {
      for (const [k, v] of this.reuse.headers) ctx.setHeaderParam(k, v);
      ctx.setAgent(this.agent);
      return;
    }
    const before = { ...ctx.getHeaders() };
    await this.kc.applySecurityAuthentication(ctx);
    const fresh = ctx.getAgent();
    // Proxy agents (socks, hpagent) are left alone.
    if (!fresh || (fresh.constructor !== http.Agent && fresh.constructor !== https.Agent)) return;
    const headers = Object.entries(ctx.getHeaders()).filter(([k, v]) => before[k] !== v);
    this.reuse = { until: now + this.reuseMs, headers };
    if (!this.agent) {
      const Ctor = fresh.constructor as typeof https.Agent;
      const opts = (fresh as unknown as { options: https.AgentOptions }).options;
      // One TLS context for every connection: tls.connect otherwise builds a new one (parsing the CA,
      // certificate and key) per socket, which was most of a 512-agent fleet's busiest moments.
      const secureContext = Ctor === https.Agent ? tls.createSecureContext(opts) : undefined;
      // timeout: idle pooled sockets are closed after 30 s, before servers drop them (fewer resets).
      // maxFreeSockets = maxSockets: a burst (heartbeats, status writes) keeps its sockets for the next
      // one instead of closing all but a few and handshaking again. 64: the operator's two status
      // reporting controllers run 32 workers each, every one waiting on a write.
      const shared = { ...opts, ...(secureContext ? { secureContext } : {}), keepAlive: true, keepAliveMsecs: 30_000 };
      this.agent = poolByAddress(new Ctor({ ...shared, timeout: opts.timeout ?? 30_000, maxSockets: 64, maxFreeSockets: 64 }));
      // No idle timeout either: a quiet watch is idle for minutes by design.
      this.streamAgent = poolByAddress(new Ctor({ ...shared, maxSockets: Infinity, maxFreeSockets: 16 }));
      // The same server and TLS context (CA, certificate, key); 64 connections, as the agent's sockets.
      const connect = secureContext ? { secureContext, rejectUnauthorized: opts.rejectUnauthorized, servername: opts.servername } : {};
      this.pool = new UndiciAgentCtor({ connections: 64, connect });
      sendThrough(this.agent, this.pool);
    }
    fresh.destroy();
    ctx.setAgent(this.agent);
  }
  /** As applySecurityAuthentication, with the watch agent in place of the request agent. */
  async applyForStream(ctx: RequestContext): Promise<void> {
    await this.applySecurityAuthentication(ctx);
    if (this.agent && ctx.getAgent() === this.agent && this.streamAgent) ctx.setAgent(this.streamAgent);
  }
  close(): void {
    this.agent?.destroy();
    this.streamAgent?.destroy();
    this.pool?.destroy().catch(() => undefined);
  }
}

export function resourcePath(info: ResourceInfo, namespace?: string, name?: string, sub?: string): string {
  const base = info.group === '' ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
  let p = base;
  if (info.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${info.plural}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (sub) p += `/${sub}`;
  return p;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /**
   * Parses a 2xx response's bytes in place of JSON.parse (a list item by item); undefined, or a throw,
   * leaves them to JSON.parse whole. Called synchronously on a reused buffer: it must not keep it (or
   * a view of it) past its return.
   */
  parseBody?: (body: Buffer) => unknown;
  /**
   * A 2xx response's body is not decoded nor parsed (the call resolves undefined): the caller never
   * reads it, so only its metadata is asked for (ACCEPT_METADATA_ONLY).
   */
  discardBody?: boolean;
  /** `body` serialized already (JSON.stringify(body)), by a caller that needed the text anyway. */
  bodyText?: string;
}

/**
 * What a call that discards its response asks for: the object's metadata only (kube-apiserver's
 * PartialObjectMetadata, which it serves for writes as for reads), full JSON from a server without it.
 * A HostFilter write answered with the whole ~160 KB filter cost the server serializing and sending it
 * (12 % of the embedded server's CPU while a cold start wrote filters) for a caller that never read it.
 */
export const ACCEPT_METADATA_ONLY = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json';

/** A connection to one API server. Create once per process; `close()` frees the sockets. */
export class KubeClient {
  readonly kc: KubeConfig;
  private readonly auth: KeepAliveAuth;
  private readonly server: ServerConfiguration<Record<string, string>>;
  private readonly http: NodeHttpLibrary;
  private readonly resources = new Map<string, ResourceClient<any>>();

  private readonly timeoutMs: number;
  /** Client-side request rate limit (client-go's QPS / burst), when one is set. */
  private readonly limiter: TokenBucket | undefined;
  private readonly clock: Clock;

  /**
   * `requestTimeoutMs` (default 60 s) bounds every non-watch call, so a hung server cannot wedge a worker.
   * `userAgent` ("vmsafe-operator/0.1.0") names the writer like client-go's: kube-apiserver takes its
   * first token as the default field manager, so managedFields (and per-writer counts) say who wrote.
   * `qps` / `burst`: at most `qps` requests a second on average, bursts of `burst` (client-go's
   * rest.Config QPS and Burst); 0 or unset = no client-side limit (the server's own flow control,
   * kube-apiserver's API Priority and Fairness, still applies). Watches are not counted.
   * `authReuseMs` (default AUTH_REUSE_MS, 10 s): how long the kubeconfig's auth headers are reused.
   */
  constructor(kc?: KubeConfig | { file?: string; yaml?: string }, opts: { requestTimeoutMs?: number; userAgent?: string; qps?: number; burst?: number; clock?: Clock; authReuseMs?: number } = {}) {
    this.kc = loadKubeConfig(kc);
    this.timeoutMs = opts.requestTimeoutMs ?? 60_000;
    this.clock = opts.clock ?? realClock;
    this.limiter = opts.qps && opts.qps > 0 ? new TokenBucket(this.clock, opts.qps, Math.max(1, opts.burst ?? Math.ceil(opts.qps * 1.5))) : undefined;
    this.http = new NodeHttpLibrary(opts.userAgent, this.timeoutMs);
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = new ServerConfiguration(cluster.server, {});
    this.auth = new KeepAliveAuth(this.kc, opts.authReuseMs, this.clock);
  }

  /**
   * One HTTP call; JSON in and out; non-2xx → ApiError. A GET that fails at the connection level
   * (a pooled socket the server just closed) is retried once; writes are not (the reconcile retries).
   */
  async request<T = any>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const wait = this.limiter?.reserve() ?? 0;
    if (wait > 0) await sleep(this.clock, wait);
    try {
      return await this.requestOnce<T>(method, path, opts);
    } catch (err) {
      if (method === 'GET' && err instanceof ApiError && err.code === 0) return this.requestOnce<T>(method, path, opts);
      throw err;
    }
  }

  private async requestOnce<T>(method: string, path: string, opts: RequestOptions): Promise<T> {
    const ctx = this.server.makeRequestContext(path, method as HttpMethod);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined && v !== '') ctx.setQueryParam(k, String(v));
    ctx.setHeaderParam('Accept', opts.discardBody ? ACCEPT_METADATA_ONLY : 'application/json');
    if (opts.body !== undefined) {
      ctx.setHeaderParam('Content-Type', opts.contentType ?? 'application/json');
      ctx.setBody(opts.bodyText ?? JSON.stringify(opts.body));
    }
    let status: number;
    let text = '';
    let parsed: unknown = undefined;
    try {
      await this.auth.applySecurityAuthentication(ctx);
      if (opts.parseBody) {
        // Declined (undefined) or not 2xx: the text goes to JSON.parse whole, below.
        ({ status, parsed, text } = await this.http.sendParsed(ctx, opts.parseBody));
      } else {
        const res = await this.http.send(ctx);
        status = res.httpStatusCode;
        const ok = status >= 200 && status <= 299;
        if (ok && opts.discardBody) return undefined as T;
        text = await res.body.text();
      }
    } catch (err) {
      throw toApiError(err);
    }
    if (parsed === undefined && text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (status < 200 || status > 299) {
      const st = (parsed && typeof parsed === 'object' ? parsed : {}) as { reason?: string; message?: string };
      throw new ApiError(status, st.reason || toApiError({ statusCode: status }).reason, st.message ?? (typeof parsed === 'string' ? parsed : `HTTP ${status}`));
    }
    return parsed as T;
  }

  /**
   * A GET whose response is a stream (a watch), resolved once its headers arrive; `signal` aborts it.
   * Not rate limited (client-go does not count watches either) and not retried: the informer is.
   */
  async openStream(path: string, query: Record<string, string | number | boolean | undefined>, signal: AbortSignal): Promise<http.IncomingMessage> {
    const ctx = this.server.makeRequestContext(path, HttpMethod.GET);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') ctx.setQueryParam(k, String(v));
    ctx.setHeaderParam('Accept', 'application/json');
    ctx.setSignal(signal);
    await this.auth.applyForStream(ctx);
    return this.http.open(ctx);
  }

  /** A client for any resource (core group included). Cached per resource. */
  resource<T extends KubeObject = KubeObject>(info: ResourceInfo): ResourceClient<T> {
    const id = `${info.group}/${info.version}/${info.plural}`;
    let rc = this.resources.get(id);
    if (!rc) {
      rc = new ResourceClient<T>(this, info);
      this.resources.set(id, rc);
    }
    return rc as ResourceClient<T>;
  }

  /** A client for one of our kinds by name ('VM', 'Host', ...). */
  kind<T extends KubeObject = KubeObject>(kind: string): ResourceClient<T> {
    return this.resource<T>(kindResource(kind));
  }

  /** A generated client-node API (CoreV1Api, RbacAuthorizationV1Api, ...) sharing the keep-alive pool. */
  api<T extends ApiType>(Api: ApiConstructor<T>): T {
    return new Api(createConfiguration({
      baseServer: this.server,
      authMethods: { default: this.auth },
      httpApi: wrapHttpLibrary(this.http),
    }));
  }

  close(): void {
    this.auth.close();
  }
}

/** ResourceInfo of one of our vmsafe.io kinds. */
export function kindResource(kind: string): ResourceInfo {
  const k = KIND_BY_NAME.get(kind);
  if (!k) throw new Error(`unknown kind ${kind}`);
  return { group: GROUP, version: VERSION, plural: k.plural, namespaced: k.namespaced, kind: k.kind };
}

export const LEASES: ResourceInfo = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespaced: true, kind: 'Lease' };
export const EVENTS: ResourceInfo = { group: '', version: 'v1', plural: 'events', namespaced: true, kind: 'Event' };
export const NAMESPACES: ResourceInfo = { group: '', version: 'v1', plural: 'namespaces', namespaced: false, kind: 'Namespace' };

/** "ns/name" or "name" → ObjectRef. */
export function parseKey(key: string): ObjectRef {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** ObjectRef or object → "ns/name" (namespaced) or "name" (cluster-scoped), like client-go's MetaNamespaceKeyFunc. */
export function keyOf(o: ObjectRef | { metadata: ObjectRef }): string {
  const r = 'metadata' in o ? o.metadata : o;
  return namespacedKey(r.namespace, r.name);
}

/** A write whose caller never reads the object the server returns: the response is not parsed. */
export interface Discarding {
  discardResponse: true;
  /** The object or patch as JSON.stringify gives it, when the caller has it (a 160 KB filter is not serialized twice). */
  bodyText?: string;
}

/** get/list/create/replace/delete/patch of one resource, with its status subresource. */
export class ResourceClient<T extends KubeObject> {
  constructor(
    private readonly client: KubeClient,
    readonly info: ResourceInfo,
  ) {}

  private ref(r: ObjectRef | string): ObjectRef {
    const ref = typeof r === 'string' ? parseKey(r) : r;
    if (this.info.namespaced && !ref.namespace) throw new Error(`${this.info.plural} are namespaced: ${ref.name} needs a namespace`);
    return this.info.namespaced ? ref : { name: ref.name };
  }

  private path(ref: ObjectRef, sub?: string): string {
    return resourcePath(this.info, ref.namespace, ref.name, sub);
  }

  /** Path for list/watch; no namespace on a namespaced resource = all namespaces. */
  collectionPath(namespace?: string): string {
    return resourcePath(this.info, namespace);
  }

  get(ref: ObjectRef | string): Promise<T> {
    return this.client.request<T>('GET', this.path(this.ref(ref)));
  }

  /** Like get, but a missing object is `undefined` instead of an error. */
  async tryGet(ref: ObjectRef | string): Promise<T | undefined> {
    try {
      return await this.get(ref);
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  async list(opts: ListOptions = {}): Promise<ObjectList<T>> {
    const r = await this.client.request<{ items?: T[] | null; metadata?: ObjectList<T>['metadata'] }>(
      'GET',
      this.collectionPath(opts.namespace),
      {
        query: {
          labelSelector: opts.labelSelector,
          fieldSelector: opts.fieldSelector,
          limit: opts.limit,
          continue: opts.continue,
          resourceVersion: opts.resourceVersion,
        },
        parseBody: opts.dropItemMembers ? (b) => parseListItems(b, opts.dropItemMembers!, { partTexts: opts.partTexts }) : undefined,
      },
    );
    // A 2xx that is not a list (a proxy's page, a body cut short) fails the call: taken for an empty
    // list, it would make an informer's relist delete every object it holds.
    if (!r || typeof r !== 'object' || Array.isArray(r) || !('items' in r) || (r.items !== null && !Array.isArray(r.items)))
      throw new ApiError(0, 'InvalidResponse', `list ${this.collectionPath(opts.namespace)}: the response is not a list object`);
    return { items: r.items ?? [], metadata: r.metadata ?? {} };
  }

  /** `discardResponse`: the caller never reads the object the server returns, so it is not parsed. */
  create(obj: T): Promise<T>;
  create(obj: T, opts: Discarding): Promise<void>;
  create(obj: T, opts?: Discarding): Promise<T | void> {
    const ns = this.info.namespaced ? obj.metadata.namespace : undefined;
    if (this.info.namespaced && !ns) throw new Error(`${this.info.plural} are namespaced: ${obj.metadata.name} needs a namespace`);
    return this.client.request<T>('POST', this.collectionPath(ns), { body: obj, discardBody: opts?.discardResponse, bodyText: opts?.bodyText });
  }

  /** PUT; send metadata.resourceVersion for optimistic concurrency (409 Conflict when stale). */
  replace(obj: T): Promise<T> {
    return this.client.request<T>('PUT', this.path(this.ref(obj.metadata)), { body: obj });
  }

  async delete(ref: ObjectRef | string, opts: DeleteOptions = {}): Promise<void> {
    const body = opts.propagationPolicy || opts.preconditions
      ? { apiVersion: 'v1', kind: 'DeleteOptions', ...opts }
      : undefined;
    await this.client.request('DELETE', this.path(this.ref(ref)), { body });
  }

  /** Merge patch (an object) or JSON patch (a list of operations; use a `test` op for preconditions). */
  patch(ref: ObjectRef | string, patch: unknown, type?: PatchType): Promise<T>;
  patch(ref: ObjectRef | string, patch: unknown, type: PatchType, opts: Discarding): Promise<void>;
  patch(ref: ObjectRef | string, patch: unknown, type: PatchType = 'merge', opts?: Discarding): Promise<T | void> {
    return this.client.request<T>('PATCH', this.path(this.ref(ref)), { body: patch, contentType: PATCH_CONTENT_TYPE[type], discardBody: opts?.discardResponse, bodyText: opts?.bodyText });
  }

  patchStatus(ref: ObjectRef | string, patch: unknown, type?: PatchType): Promise<T>;
  patchStatus(ref: ObjectRef | string, patch: unknown, type: PatchType, opts: Discarding): Promise<void>;
  patchStatus(ref: ObjectRef | string, patch: unknown, type: PatchType = 'merge', opts?: Discarding): Promise<T | void> {
    return this.client.request<T>('PATCH', this.path(this.ref(ref), 'status'), { body: patch, contentType: PATCH_CONTENT_TYPE[type], discardBody: opts?.discardResponse, bodyText: opts?.bodyText });
  }

  replaceStatus(obj: T): Promise<T> {
    return this.client.request<T>('PUT', this.path(this.ref(obj.metadata), 'status'), { body: obj });
  }
}
