// Request routing: authentication, health, version, discovery, OpenAPI and the resource verbs.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../util/log';
import type { Api, DeleteOptions, PatchType, WriteCtx } from './api';
import { reviewPath, type Auth, type UserInfo } from './auth';
import { AGGREGATED_V2, aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions, wantsAggregated } from './discovery';
import { ApiError, badRequest, cannotUnmarshal, goType, internal, methodNotAllowed, notAcceptable, pathNotFound, status, unsupportedMediaType } from './errors';
import { decodeK8sProtobuf, PROTOBUF } from './protobuf';
import { negotiate, parseJsonBody, type DecodeOptions, parseMediaTypes, readBody, sendError, sendJson, sendJsonParts } from './http';
import type { OpenApiCache } from './openapi';
import { OPENAPI_V2_PROTOBUF, OPENAPI_V2_PROTOBUF_DOC, wantsV2Protobuf } from './openapi-v2';
import { apiVersionOf, type Registry, type ResourceDef } from './resources';
import { toJson, type Obj } from './store';
import { partialMetadata, table, type IncludeObject } from './table';
import type { WatchHub } from './watch';
import { dryRun, fieldValidation, listQuery, queryBool } from './query';

export interface RouterDeps {
  api: Api;
  registry: Registry;
  openapi: OpenApiCache;
  watches: WatchHub;
  auth: Auth;
  log: Logger;
  serverAddress: () => string;
}

const VERSION_INFO = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-vmsafe',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

const PUBLIC = new Set(['/healthz', '/livez', '/readyz', '/version']);

interface ResourcePath {
  def: ResourceDef;
  namespace?: string;
  name?: string;
  sub?: string;
  watchPath: boolean;
}

export function createRouter(deps: RouterDeps) {
  const { api, registry, openapi, watches, log } = deps;

  return async function route(req: IncomingMessage, res: ServerResponse) {
    const started = process.hrtime.bigint();
    const auditId = randomUUID();
    res.setHeader('Audit-Id', auditId);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (log.isLevelEnabled('debug'))
      res.on('finish', () => {
        log.debug(
          { method: req.method, path: url.pathname, query: url.search || undefined, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6, ua: req.headers['user-agent'] },
          'request',
        );
      });
    try {
      const healthPath = path.split('/').slice(0, 2).join('/');
      // Authentication, impersonation and RBAC (src/apiserver/auth) before anything is served.
      const user = deps.auth.identify(req, PUBLIC.has(healthPath));
      deps.auth.authorizeRequest(user, req.method ?? 'GET', path, url.searchParams);
      if (healthPath === '/healthz' || healthPath === '/livez' || healthPath === '/readyz') {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
        res.end('ok');
        return;
      }
      if (path === '/version') return sendJson(res, 200, VERSION_INFO);
      // Write counters per resource (creates/updates/deletes), for benchmarks driving a separate process.
      // `?by=manager`: stored writes per field manager instead (which client wrote how much).
      if (path === '/debug/vmsafe/writes')
        return sendJson(res, 200, url.searchParams.get('by') === 'manager'
          ? Object.fromEntries(api.writesByManager)
          : Object.fromEntries([...api.store.resources.values()].map((r) => [r.key, r.stats])));
      if ((path === '/api' || path === '/apis') && wantsAggregated(req.headers.accept))
        return sendJson(res, 200, aggregatedDiscovery(registry, path === '/api'), { 'Content-Type': AGGREGATED_V2, Vary: 'Accept' });
      if (path === '/api') return sendJson(res, 200, apiVersions(deps.serverAddress()));
      if (path === '/apis') return sendJson(res, 200, apiGroupList(registry));
      if (path === '/openapi/v3') return sendJson(res, 200, openapi.index());
      if (path === '/openapi/v2') {
        if (wantsV2Protobuf(req.headers.accept)) {
          res.writeHead(200, { 'Content-Type': OPENAPI_V2_PROTOBUF, 'Content-Length': OPENAPI_V2_PROTOBUF_DOC.length, Vary: 'Accept' });
          res.end(OPENAPI_V2_PROTOBUF_DOC);
          return;
        }
        return sendJson(res, 200, openapi.v2(), { Vary: 'Accept' });
      }
      if (path.startsWith('/openapi/v3/')) {
        const doc = openapi.doc(path.slice('/openapi/v3/'.length));
        if (!doc) throw pathNotFound();
        return sendJson(res, 200, doc);
      }
      const parts = path.split('/').slice(1).map(decodePathSegment);
      let group: string;
      let version: string;
      let rest: string[];
      if (parts[0] === 'api' && parts.length >= 2) {
        group = '';
        version = parts[1]!;
        rest = parts.slice(2);
      } else if (parts[0] === 'apis' && parts.length >= 2) {
        group = parts[1]!;
        if (parts.length === 2) {
          const g = apiGroup(registry, group);
          if (!g) throw pathNotFound();
          return sendJson(res, 200, g);
        }
        version = parts[2]!;
        rest = parts.slice(3);
      } else throw pathNotFound();
      if (rest.length === 0) {
        const list = apiResourceList(registry, group, version);
        if (!list) throw pathNotFound();
        return sendJson(res, 200, list);
      }
      const review = reviewPath(group, version, rest);
      if (review) {
        if (req.method !== 'POST') throw methodNotAllowed();
        return sendJson(res, 201, deps.auth.review(review, user, decodeBody(await readBody(req), req.headers['content-type'], {}) as Obj));
      }
      const rp = resolve(registry, group, version, rest);
      await handleResource(req, res, url, rp, user);
    } catch (e) {
      const err = e instanceof ApiError ? e : internal((e as Error)?.message ?? String(e));
      if (!(e instanceof ApiError)) log.error({ err: e, path }, 'request failed');
      sendError(res, err);
    }
  };

  async function handleResource(req: IncomingMessage, res: ServerResponse, url: URL, rp: ResourcePath, user: UserInfo) {
    const guarded = deps.auth.inspectsWrite(user, rp.def.group);
    const q = url.searchParams;
    const { def, namespace: ns, name, sub } = rp;
    const method = req.method ?? 'GET';
    if (sub && sub !== 'status') throw pathNotFound();
    if (sub === 'status' && !def.statusSubresource) throw pathNotFound();
    const shape = negotiate(req.headers.accept);
    if (shape === 'unacceptable') throw notAcceptable('only the following media types are accepted: application/json, application/yaml');
    const includeObject = (q.get('includeObject') as IncludeObject | null) ?? 'Metadata';
    const OPTIONS_KIND = { POST: 'CreateOptions', PUT: 'UpdateOptions', PATCH: 'PatchOptions', DELETE: 'DeleteOptions' } as const;
    const ctx = (): WriteCtx => ({
      user,
      manager: q.get('fieldManager') ?? defaultManager(req.headers['user-agent']),
      dryRun: dryRun(q.getAll('dryRun'), OPTIONS_KIND[method as keyof typeof OPTIONS_KIND] ?? 'CreateOptions'),
      fieldValidation: fieldValidation(q),
      warnings: [],
    });
    const reply = (code: number, obj: Obj, c?: WriteCtx) => {
      const headers: Record<string, string> = {};
      if (c?.warnings.length) headers.Warning = c.warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ');
      if (shape === 'table') return sendJson(res, code, table(def.columns, [obj], includeObject, { resourceVersion: obj.metadata?.resourceVersion }), headers);
      if (shape === 'metadata') return sendJson(res, code, partialMetadata(obj), headers);
      sendJson(res, code, toJson(obj), headers);
    };
    if (rp.watchPath && method !== 'GET') throw methodNotAllowed();
    const isWatch = rp.watchPath || queryBool(q, 'watch') === true;

    if (name === undefined) {
      if (def.namespaced && ns === undefined && method !== 'GET') throw methodNotAllowed();
      switch (method) {
        case 'GET': {
          const lq = listQuery(q, isWatch);
          if (isWatch) {
            await new Promise<void>((done) => {
              watches.serve(res, {
                def, namespace: ns, resourceVersion: lq.resourceVersion,
                labelSelector: q.get('labelSelector'), fieldSelector: q.get('fieldSelector'),
                allowWatchBookmarks: queryBool(q, 'allowWatchBookmarks') === true,
                sendInitialEvents: queryBool(q, 'sendInitialEvents') === true,
                // 0 or absent: kube's default, a random 30-60 minutes.
                timeoutSeconds: lq.timeoutSeconds || 1800 + Math.floor(Math.random() * 1800),
                shape, includeObject,
              }, done);
            });
            return;
          }
          const out = api.list(def, ns, {
            labelSelector: q.get('labelSelector'), fieldSelector: q.get('fieldSelector'),
            limit: lq.limit, continue: q.get('continue'),
          });
          const meta: Obj = { resourceVersion: out.resourceVersion };
          if (out.continue) meta.continue = out.continue;
          if (out.remainingItemCount !== undefined) meta.remainingItemCount = out.remainingItemCount;
          if (shape === 'table') return sendJson(res, 200, table(def.columns, out.items.map((o) => api.out(def, o)), includeObject, meta));
          if (shape === 'metadata')
            return sendJson(res, 200, { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: meta, items: out.items.map((o) => partialMetadata(api.out(def, o))) });
          const head = `{"kind":"${def.listKind}","apiVersion":"${apiVersionOf(def)}","metadata":${JSON.stringify(meta)},"items":[`;
          return sendJsonParts(res, 200, head, out.items, (o) => api.listItemJson(def, o), ']}');
        }
        case 'POST': {
          const c = ctx();
          const body = decodeBody(await readBody(req), req.headers['content-type'], c);
          if (guarded) deps.auth.checkWrite(user, def.plural, ns, body);
          return reply(201, await api.create(def, ns, body, c), c);
        }
        case 'DELETE': {
          const c = ctx();
          const opts = await deleteOptions(req, q);
          if (opts.dryRun) c.dryRun = true;
          const items = await api.deleteCollection(def, ns, { labelSelector: q.get('labelSelector'), fieldSelector: q.get('fieldSelector') }, opts, c);
          // Like the generic registry: the list of what was deleted (or marked for deletion).
          const head = `{"kind":"${def.listKind}","apiVersion":"${apiVersionOf(def)}","metadata":{"resourceVersion":"${api.store.rv}"},"items":[`;
          return sendJson(res, 200, head + items.map((o) => toJson(o)).join(',') + ']}');
        }
        default:
          throw methodNotAllowed();
      }
    }

    if (isWatch) throw methodNotAllowed();
    const subresource = sub === 'status' ? 'status' : undefined;
    switch (method) {
      case 'GET':
        return reply(200, api.get(def, ns, name));
      case 'PUT': {
        const c = ctx();
        const body = decodeBody(await readBody(req), req.headers['content-type'], c);
        if (guarded) deps.auth.checkWrite(user, def.plural, ns, body);
        return reply(200, await api.update(def, ns, name, body, c, subresource), c);
      }
      case 'PATCH': {
        const c = ctx();
        const type = patchType(req.headers['content-type']);
        if (type === 'apply' && !q.get('fieldManager'))
          throw badRequest('PATCH, application/apply-patch+yaml requires fieldManager parameter');
        const buf = await readBody(req);
        const body = parseJsonBody(buf, type === 'apply' ? 'application/yaml' : 'application/json', c);
        const existed = type === 'apply' ? hasObject(def, ns, name) : true;
        // RBAC escalation check on the patched result: a dry run first, then the real write.
        if (guarded) deps.auth.checkWrite(user, def.plural, ns, await api.patch(def, ns, name, type, structuredClone(body), { ...c, dryRun: true, warnings: [] }, subresource, queryBool(q, 'force') === true));
        const out = await api.patch(def, ns, name, type, body, c, subresource, queryBool(q, 'force') === true);
        return reply(existed ? 200 : 201, out, c);
      }
      case 'DELETE': {
        if (subresource) throw methodNotAllowed();
        const c = ctx();
        const opts = await deleteOptions(req, q);
        if (opts.dryRun) c.dryRun = true;
        const { obj } = await api.delete(def, ns, name, opts, c);
        if (def.deleteReturnsObject) return reply(200, obj, c);
        return sendJson(res, 200, status(200, '', '', { name, group: def.group || undefined, kind: def.plural, uid: obj.metadata?.uid }));
      }
      default:
        throw methodNotAllowed();
    }
  }

  function hasObject(def: ResourceDef, ns: string | undefined, name: string): boolean {
    try {
      api.getStored(def, ns, name);
      return true;
    } catch {
      return false;
    }
  }
}

/** /api/v1/namespaces/ns/configmaps/x/status, /apis/g/v/vms, /api/v1/watch/namespaces/... */
function resolve(registry: Registry, group: string, version: string, rest: string[]): ResourcePath {
  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const def = registry.get(group, version, rest[2]!);
    if (def?.namespaced) {
      if (rest.length > 5) throw pathNotFound();
      return { def, namespace: rest[1], name: rest[3], sub: rest[4], watchPath };
    }
  }
  const def = registry.get(group, version, rest[0]!);
  if (!def) throw pathNotFound();
  if (rest.length > 3) throw pathNotFound();
  if (def.namespaced && rest.length > 1) throw pathNotFound();
  return { def, name: rest[1], sub: rest[2], watchPath };
}

/** JSON, YAML, or (for the built-ins kubectl's generators send) Kubernetes protobuf. */
function decodeBody(buf: Buffer, contentType: string | undefined, opts: DecodeOptions): unknown {
  const t = parseMediaTypes(contentType)[0]?.type ?? 'application/json';
  if (t === PROTOBUF) {
    try {
      return decodeK8sProtobuf(buf);
    } catch (e) {
      if (e instanceof ApiError) throw e;
      throw badRequest(`the body of the request could not be decoded as protobuf: ${(e as Error).message}`);
    }
  }
  if (t === 'application/json' || t === 'application/yaml' || t === '*/*') return parseJsonBody(buf, t, opts);
  throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`);
}

function patchType(contentType: string | undefined): PatchType {
  const t = parseMediaTypes(contentType)[0]?.type;
  switch (t) {
    case 'application/merge-patch+json': return 'merge';
    case 'application/json-patch+json': return 'json';
    case 'application/strategic-merge-patch+json': return 'strategic';
    case 'application/apply-patch+yaml': return 'apply';
  }
  throw unsupportedMediaType(
    'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json',
  );
}

/**
 * DeleteOptions from the body (JSON; `null` is none) and the query. dryRun in the body is honoured
 * (kubectl delete --dry-run=server sends it there, and it deleted for real); a member of the wrong
 * type is Go's decoding error (400), where it used to reach code that threw (500).
 */
async function deleteOptions(req: IncomingMessage, q: URLSearchParams): Promise<DeleteOptions & { dryRun?: boolean }> {
  const buf = await readBody(req);
  let body: unknown = null;
  if (buf.length && buf.toString('utf8').trim()) {
    try {
      body = JSON.parse(buf.toString('utf8'));
    } catch {
      throw badRequest('the body of the request could not be decoded as DeleteOptions');
    }
  }
  const typeError = deleteOptionsTypeError(body);
  if (typeError) throw badRequest(`the body of the request could not be decoded as DeleteOptions: ${typeError}`);
  const b = (body ?? {}) as Record<string, unknown>;
  const opts: DeleteOptions & { dryRun?: boolean } = {};
  if (b.propagationPolicy != null) opts.propagationPolicy = b.propagationPolicy as DeleteOptions['propagationPolicy'];
  if (b.orphanDependents != null) opts.orphanDependents = b.orphanDependents as boolean;
  if (b.gracePeriodSeconds != null) opts.gracePeriodSeconds = b.gracePeriodSeconds as number;
  if (b.preconditions != null) opts.preconditions = b.preconditions as DeleteOptions['preconditions'];
  if (Array.isArray(b.dryRun)) opts.dryRun = dryRun(b.dryRun as string[], 'DeleteOptions');
  const pp = q.get('propagationPolicy');
  if (pp) opts.propagationPolicy = pp as DeleteOptions['propagationPolicy'];
  const orphan = queryBool(q, 'orphanDependents');
  if (orphan !== undefined) opts.orphanDependents = orphan;
  if (opts.propagationPolicy && !['Foreground', 'Background', 'Orphan'].includes(opts.propagationPolicy))
    throw badRequest(`DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${opts.propagationPolicy}": supported values: "Foreground", "Background", "Orphan", "nil"`);
  return opts;
}


/** Go's message for a DeleteOptions body member of the wrong JSON type, or undefined. */
function deleteOptionsTypeError(body: unknown): string | undefined {
  if (body === null) return undefined;
  if (typeof body !== 'object' || Array.isArray(body)) return `json: cannot unmarshal ${goType(body)} into Go value of type v1.DeleteOptions`;
  const b = body as Record<string, unknown>;
  const field = (name: string, type: string) => cannotUnmarshal(b[name], `DeleteOptions.${name}`, type);
  const set = (v: unknown) => v !== undefined && v !== null;
  if (set(b.propagationPolicy) && typeof b.propagationPolicy !== 'string') return field('propagationPolicy', 'v1.DeletionPropagation');
  if (set(b.orphanDependents) && typeof b.orphanDependents !== 'boolean') return field('orphanDependents', 'bool');
  if (set(b.gracePeriodSeconds) && !Number.isSafeInteger(b.gracePeriodSeconds)) return field('gracePeriodSeconds', 'int64');
  if (set(b.dryRun) && !(Array.isArray(b.dryRun) && b.dryRun.every((v) => typeof v === 'string'))) return field('dryRun', '[]string');
  const pre = b.preconditions;
  if (set(pre)) {
    if (typeof pre !== 'object' || Array.isArray(pre)) return field('preconditions', 'v1.Preconditions');
    for (const [f, type] of [['uid', 'types.UID'], ['resourceVersion', 'string']] as const) {
      const v = (pre as Record<string, unknown>)[f];
      if (set(v) && typeof v !== 'string') return cannotUnmarshal(v, `Preconditions.preconditions.${f}`, type);
    }
  }
  return undefined;
}

/** A path segment; a malformed escape (`%ZZ`) is the client's error: 400, as Go's net/http answers. */
function decodePathSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw badRequest(`invalid URL escape in path segment ${JSON.stringify(s.slice(0, 64))}`);
  }
}

/** kube-apiserver's default field manager: the user agent's first token ("kubectl", "node-fetch"). */
function defaultManager(ua: string | undefined): string {
  const first = (ua ?? 'unknown').split('/')[0]!.trim();
  return first || 'unknown';
}

