// The verbs, independent of HTTP: get/list/create/update/patch/delete/deletecollection with
// kube-apiserver's semantics (admission of names and namespaces, resourceVersion preconditions,
// status subresource, generation, finalizers, namespace termination, garbage collection, CRDs).
import { randomUUID } from 'node:crypto';
import type { Logger } from '../util/log';
import {
  ApiError, alreadyExists, badRequest, conflict, forbidden, invalid, notFound, qualified, STALE, tooLarge, unsupportedMediaType,
  type StatusCause,
} from './errors';
import { admit, policyErrors, type AdmissionAttributes, type UserInfo } from './admission/policy';
import { compileRules, validateRules } from './cel/rules';
import { cloneJson } from './clone';
import { serverSideApply, updateManagedFields } from './managed';
import { jsonPatch, mergePatch, mergePatchOwned, strategicMergePatch } from './patch';
import { apiVersionOf, defsFromCrd, statusWriteDef, type Registry, type ResourceDef } from './resources';
import { applyDefaults, causesFromAjv, listTypeCauses, OBJECT_META_FIELDS, prune } from './schema';
import { parseFieldSelector, parseLabelSelector } from './selectors';
import { listJson, objectJson, objectKey, specTexts, type Obj, type Store } from './store';
import { decodeTypeError, deepEqual, metadataErrors, type NameRule } from './validation';
import { setOwn } from '../util/own-keys';
import { MAX_OBJECT_BYTES } from '../api/limits';

/** A client's value in a message: a string as it is, anything else as JSON (an object whose `toString` is not a function throws in a template). */
const shown = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v) ?? String(v));

// etcd's request limit: larger objects are refused (re-exported for the server's users).
export { MAX_OBJECT_BYTES };

export interface WriteCtx {
  manager: string;
  /** Who is writing (admission sees it); absent means the server's admin. */
  user?: UserInfo;
  dryRun: boolean;
  fieldValidation: 'Strict' | 'Warn' | 'Ignore';
  warnings: string[];
}

export interface ListOptions {
  labelSelector?: string | null;
  fieldSelector?: string | null;
  limit?: number;
  continue?: string | null;
}

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  gracePeriodSeconds?: number;
}

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

const NS_KEY = '/namespaces';
/** kube-apiserver's namespace lifecycle admission refuses to delete these. */
const IMMORTAL_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);
const CRD_KEY = 'apiextensions.k8s.io/customresourcedefinitions';
const VAP_KEY = 'admissionregistration.k8s.io/validatingadmissionpolicies';
const VAP_BINDING_KEY = 'admissionregistration.k8s.io/validatingadmissionpolicybindings';
/** The identity of the server's own token (and of in-process callers). */
export const ADMIN_USER: UserInfo = { username: 'vmsafe-admin', groups: ['system:masters', 'system:authenticated'] };
const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** The current second as RFC 3339 text, formatted once per second (every write stamps its managedFields). */
let rfc3339At = { second: Number.NaN, text: '' };
export const nowRfc3339 = () => {
  const second = Math.floor(Date.now() / 1000);
  if (second !== rfc3339At.second) rfc3339At = { second, text: new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') };
  return rfc3339At.text;
};

function nameRule(def: ResourceDef): NameRule {
  if (def.key === NS_KEY) return 'label';
  if (def.group === 'rbac.authorization.k8s.io') return 'path';
  return 'subdomain';
}

/** A copy of a stored object for a status write: everything copied but spec (shared) and status (replaced). */
function withSharedSpec(old: Obj): Obj {
  const next: Obj = {};
  for (const k of Object.keys(old)) {
    if (k === 'status') continue;
    const v = k === 'spec' ? old.spec : cloneJson(old[k]);
    // A top-level `__proto__` field (kept where the schema preserves unknown fields) stays a field.
    setOwn(next, k, v);
  }
  return next;
}

/** The base of a /status merge patch: a copy of a stored object sharing its spec (mergePatch does not mutate). */
function forStatusMerge(old: Obj): Obj {
  const base = withSharedSpec(old);
  if (old.status !== undefined) base.status = cloneJson(old.status);
  return base;
}

/** An object's JSON text is large past this (characters): see Api.serialize. */
const LARGE_OBJECT_CHARS = 64 * 1024;

/** JSON.stringify(obj) for a plain JSON object, with `text` as the already serialized value of `member`. */
export function stringifyWithMember(obj: Obj, member: string, text: string): string {
  return objectJson(obj, (k, v) => (k === member ? text : JSON.stringify(v)));
}

/** Everything except metadata and status: a change here bumps metadata.generation. */
function specPart(o: Obj): Obj {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
}

/** managedFields without timestamps (a write that only moves them is a no-op). */
function timeless(mf: unknown): unknown {
  return Array.isArray(mf) ? mf.map((e) => (e && typeof e === 'object' ? { ...e, time: undefined } : e)) : null;
}

/** Object minus the fields every write changes anyway (for no-op detection). */
function comparable(o: Obj): Obj {
  const { resourceVersion: _rv, managedFields: _mf, ...meta } = o.metadata ?? {};
  return { ...o, metadata: meta };
}

const gr = (def: ResourceDef) => ({ group: def.group, resource: def.plural });

export class Api {
  private gcQueue: (() => void)[] = [];
  /** Unknown built-in fields decodeBody found in a request object (checked by validate). */
  private readonly unknownFields = new WeakMap<Obj, string[]>();
  /** The def each object this process stored was validated under (a CRD change builds new defs). */
  private readonly validatedUnder = new WeakMap<Obj, ResourceDef>();
  /** Kinds that have stored an object over LARGE_OBJECT_CHARS: their specs are serialized apart (serialize). */
  private readonly largeKinds = new WeakSet<ResourceDef>();
  private gcScheduled = false;
  private gcIdleWaiters: (() => void)[] = [];
  /** Writes stored per field manager (the user agent's first token by default) and their stored bytes: who writes how much. */
  readonly writesByManager = new Map<string, { writes: number; bytes: number }>();

  constructor(
    readonly store: Store,
    readonly registry: Registry,
    private readonly log: Logger,
  ) {}

  // ------------------------------------------------------------------ conversions

  /** Storage object -> the shape of the requested API version (same object when nothing changes). */
  out(def: ResourceDef, obj: Obj): Obj {
    if (def.fromStorage) return def.fromStorage(obj);
    const av = apiVersionOf(def);
    return obj.apiVersion === av ? obj : { ...obj, apiVersion: av };
  }

  private toStorage(def: ResourceDef, obj: Obj): Obj {
    return def.toStorage ? def.toStorage(obj) : obj;
  }

  // ------------------------------------------------------------------ reads

  getStored(def: ResourceDef, ns: string | undefined, name: string): Obj {
    const obj = this.store.get(def.key, objectKey(def.namespaced ? ns : undefined, name));
    if (!obj) throw notFound(gr(def), name);
    return obj;
  }

  get(def: ResourceDef, ns: string | undefined, name: string): Obj {
    return this.out(def, this.getStored(def, ns, name));
  }

  fieldLabelSupported(def: ResourceDef) {
    return (f: string) => f === 'metadata.name' || (def.namespaced && f === 'metadata.namespace') || def.fieldLabels.includes(f);
  }

  /** Compiled selector predicate for list and watch (undefined: match all). */
  matcher(def: ResourceDef, labelSelector?: string | null, fieldSelector?: string | null): ((o: Obj) => boolean) | undefined {
    const labels = parseLabelSelector(labelSelector);
    const fields = parseFieldSelector(fieldSelector, this.fieldLabelSupported(def));
    if (!labels && !fields) return undefined;
    return (o) => (!labels || labels(o.metadata?.labels)) && (!fields || fields.matcher(o));
  }

  /** Stored objects, in key order, with paging. */
  list(def: ResourceDef, ns: string | undefined, opts: ListOptions) {
    const match = this.matcher(def, opts.labelSelector, opts.fieldSelector);
    const r = this.store.res(def.key);
    let listRv = this.store.rv;
    const keys = r.keysIn(def.namespaced ? ns : undefined);
    let from = 0;
    if (opts.continue) {
      let tok: { rv: number; start: string };
      try {
        tok = JSON.parse(Buffer.from(opts.continue, 'base64').toString('utf8'));
        // A positive integer (kube's int64, never 0): the token is the client's text, and its version is
        // served as the list's resourceVersion ("Infinity" from 1e999 was).
        if (typeof tok.start !== 'string' || !Number.isSafeInteger(tok.rv) || tok.rv <= 0) throw new Error('bad');
      } catch {
        throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
      }
      listRv = tok.rv;
      let lo = 0;
      let hi = keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (keys[mid]! <= tok.start) lo = mid + 1;
        else hi = mid;
      }
      from = lo; // an index, not a copy of the rest: a paged list is hundreds of pages
    }
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    const items: Obj[] = [];
    let i = from;
    for (; i < keys.length && items.length < limit; i++) {
      const o = r.objects.get(keys[i]!)!;
      if (!match || match(o)) items.push(o);
    }
    let cont: string | undefined;
    let remaining: number | undefined;
    if (i < keys.length) {
      let more = !match;
      for (let k = i; !more && k < keys.length; k++) more = match!(r.objects.get(keys[k]!)!);
      if (more) {
        cont = Buffer.from(JSON.stringify({ rv: listRv, start: keys[i - 1] })).toString('base64');
        if (!match) remaining = keys.length - i;
      }
    }
    return { items, resourceVersion: String(listRv), continue: cont, remainingItemCount: remaining };
  }

  // ------------------------------------------------------------------ create

  async create(def: ResourceDef, ns: string | undefined, body: unknown, ctx: WriteCtx, preset?: { managedFields?: unknown }): Promise<Obj> {
    const obj = this.decodeBody(def, body);
    const meta = (obj.metadata ??= {});
    if (def.namespaced) {
      if (meta.namespace && meta.namespace !== ns)
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      meta.namespace = ns;
    } else delete meta.namespace;
    if (!meta.name && meta.generateName) {
      meta.name = `${meta.generateName}${Array.from({ length: 5 }, () => GENERATE_ALPHABET[Math.floor(Math.random() * GENERATE_ALPHABET.length)]).join('')}`;
    }
    if (!meta.name)
      throw invalid(def.group, def.kind, '', [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }]);
    if (meta.resourceVersion) throw badRequest('resourceVersion should not be set on objects to be created');
    if (def.namespaced) this.admitNamespace(def, ns!, meta.name);
    meta.uid = randomUUID();
    meta.creationTimestamp = nowRfc3339();
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.selfLink;
    if (def.generation === 'cr') meta.generation = 1;
    else delete meta.generation;
    if (def.statusSubresource && def.crd) delete obj.status;
    this.prepareBuiltin(def, obj, undefined);
    this.validate(def, obj, ctx, undefined);
    this.admit(def, 'CREATE', ns, meta.name, obj, undefined, ctx);
    if (preset?.managedFields !== undefined) meta.managedFields = preset.managedFields;
    else {
      const mf = updateManagedFields(undefined, obj, ctx.manager, 'main', def.statusSubresource, meta.creationTimestamp, def.schema);
      if (mf) meta.managedFields = mf;
      else delete meta.managedFields;
    }
    const key = objectKey(meta.namespace, meta.name);
    if (this.store.get(def.key, key)) throw alreadyExists(gr(def), meta.name);
    const json = this.checkSize(def, obj);
    if (ctx.dryRun) return this.out(def, obj);
    const stored = this.store.put(def.key, obj, json);
    this.validatedUnder.set(stored, def);
    this.countWrite(ctx, json.text);
    this.afterWrite(def, stored);
    await this.store.durable();
    return this.out(def, stored);
  }

  private countWrite(ctx: WriteCtx, json?: string) {
    let c = this.writesByManager.get(ctx.manager);
    if (!c) this.writesByManager.set(ctx.manager, (c = { writes: 0, bytes: 0 }));
    c.writes++;
    c.bytes += json?.length ?? 0;
  }

  private admitNamespace(def: ResourceDef, ns: string, name: string) {
    const nsObj = this.store.get(NS_KEY, ns);
    if (!nsObj) throw notFound({ group: '', resource: 'namespaces' }, ns);
    if (nsObj.metadata.deletionTimestamp)
      throw forbidden(`${def.plural}${def.group ? '.' + def.group : ''} "${name}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`);
  }

  /** Strict/Warn field validation for built-ins: unknown top-level and metadata fields. */
  private unknownBuiltinFields(def: ResourceDef, obj: Obj): string[] {
    if (!def.fields) return [];
    const unknown = Object.keys(obj).filter((k) => !['apiVersion', 'kind', 'metadata', ...def.fields!].includes(k));
    for (const k of Object.keys(obj.metadata ?? {})) if (!OBJECT_META_FIELDS.has(k)) unknown.push(`metadata.${k}`);
    return unknown;
  }

  private decodeBody(def: ResourceDef, body: unknown): Obj {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('Object \'Kind\' is missing in request body');
    const obj = body as Obj;
    const av = apiVersionOf(def);
    const unknown = this.unknownBuiltinFields(def, obj);
    if (obj.kind !== undefined && obj.kind !== def.kind)
      throw badRequest(`the kind in the data (${shown(obj.kind)}) does not match the expected kind (${def.kind})`);
    if (obj.apiVersion !== undefined && obj.apiVersion !== av)
      throw badRequest(`the API version in the data (${shown(obj.apiVersion)}) does not match the expected API version (${av})`);
    obj.kind = def.kind;
    obj.apiVersion = av;
    if (obj.metadata !== undefined && (obj.metadata === null || typeof obj.metadata !== 'object')) throw badRequest('metadata must be an object');
    this.checkTypes(def, obj);
    const stored = this.toStorage(def, obj);
    if (unknown.length) this.unknownFields.set(stored, unknown);
    return stored;
  }

  /**
   * Serializes obj once, as it will be stored (with the resourceVersion the store assigns next: no
   * await comes between this and the put), and enforces etcd's size limit.
   */
  private checkSize(def: ResourceDef, obj: Obj): { text: string; rv: number } {
    const was = obj.metadata.resourceVersion;
    const rv = this.store.rv + 1;
    obj.metadata.resourceVersion = String(rv);
    const text = this.serialize(def, obj);
    obj.metadata.resourceVersion = was;
    if (text.length > MAX_OBJECT_BYTES / 3 && Buffer.byteLength(text) > MAX_OBJECT_BYTES) throw tooLarge('etcdserver: request is too large');
    return { text, rv };
  }

  /**
   * JSON.stringify(obj), with the spec's text taken from specTexts when this spec object was
   * serialized lately: a status write shares the stored spec (withSharedSpec). Only for kinds that
   * have stored an object over LARGE_OBJECT_CHARS (HostFilters), whose specs are then serialized
   * apart and remembered; small objects are serialized in one call as before.
   */
  private serialize(def: ResourceDef, obj: Obj): string {
    const spec = obj.spec;
    if (!this.largeKinds.has(def) || spec === null || typeof spec !== 'object') {
      const json = JSON.stringify(obj);
      if (json.length > LARGE_OBJECT_CHARS) this.largeKinds.add(def);
      return json;
    }
    let specJson = specTexts.get(spec);
    if (specJson === undefined) {
      specJson = JSON.stringify(spec);
      // JSON.stringify hands back a large text in pieces; flattened once here, not at every splice.
      specJson.charCodeAt(0);
      specTexts.set(spec, specJson);
    }
    return stringifyWithMember(obj, 'spec', specJson);
  }

  /**
   * A field of the wrong JSON type is Go's decoding error (400), found before anything reads it: every
   * body is checked here (decodeBody, and an apply configuration before the merge), so validate needn't.
   */
  private checkTypes(def: ResourceDef, obj: Obj): void {
    const typeError = decodeTypeError(def.kind, obj);
    if (typeError) throw badRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: ${typeError}`);
  }

  /** Schema pipeline for custom resources plus metadata validation for every kind. */
  private validate(def: ResourceDef, obj: Obj, ctx: WriteCtx, old: Obj | undefined) {
    const name = obj.metadata?.name ?? '';
    const builtinUnknown = this.unknownFields.get(obj) ?? [];
    if (builtinUnknown.length && ctx.fieldValidation === 'Strict')
      throw badRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: strict decoding error: ${builtinUnknown.map((u) => `unknown field "${u}"`).join(', ')}`);
    if (builtinUnknown.length && ctx.fieldValidation === 'Warn') ctx.warnings.push(...builtinUnknown.map((u) => `unknown field "${u}"`));
    if (def.schema) {
      const unknown = prune(obj, def.schema);
      if (unknown.length && ctx.fieldValidation === 'Strict')
        throw badRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: strict decoding error: ${unknown.map((u) => `unknown field "${u}"`).join(', ')}`);
      if (unknown.length && ctx.fieldValidation === 'Warn') ctx.warnings.push(...unknown.map((u) => `unknown field "${u}"`));
      applyDefaults(obj, def.schema);
    }
    const causes: StatusCause[] = metadataErrors(obj.metadata ?? {}, nameRule(def));
    if (def.validator) {
      const { metadata, ...rest } = obj;
      if (!def.validator({ ...rest, metadata: {} })) causes.push(...causesFromAjv(def.validator.errors));
      void metadata;
      causes.push(...listTypeCauses(obj, def.schema));
    }
    // CEL rules run only on an object the schema accepts (kube skips them after blocking errors).
    if (def.rules && causes.length === 0) causes.push(...validateRules(def.rules, obj, old));
    if (def.key === CRD_KEY) causes.push(...crdErrors(obj));
    if (def.key === VAP_KEY) causes.push(...policyErrors(obj));
    if (causes.length) throw invalid(def.group, def.kind, name, causes);
  }

  /** Validating admission (ValidatingAdmissionPolicy), after validation and before storage, as kube orders it. */
  private admit(def: ResourceDef, operation: AdmissionAttributes['operation'], ns: string | undefined, name: string, obj: Obj | undefined, old: Obj | undefined, ctx: WriteCtx, sub?: string) {
    const bindings = this.store.res(VAP_BINDING_KEY).objects;
    if (bindings.size === 0) return;
    const denial = admit(
      {
        operation, group: def.group, version: def.version, kind: def.kind, resource: def.plural, subResource: sub, namespace: def.namespaced ? ns : undefined, name,
        object: obj && this.out(def, obj), oldObject: old && this.out(def, old), userInfo: ctx.user ?? ADMIN_USER, dryRun: ctx.dryRun,
        namespaceObject: def.namespaced && ns ? this.store.get(NS_KEY, ns) : undefined,
      },
      [...this.store.res(VAP_KEY).objects.values()],
      [...bindings.values()],
    );
    // admission.NewForbidden's wording, with the policy's reason and code, and the message as a cause
    // (kubectl prints a 422 as `The VM "x" is invalid: : ValidatingAdmissionPolicy ...`).
    if (denial)
      throw new ApiError(denial.code, denial.reason, `${qualified(gr(def))} "${name}" is forbidden: ${denial.message}`, { name, group: def.group || undefined, kind: def.plural, causes: [{ message: denial.message }] });
  }

  /** Built-in strategies: Namespace phase and finalizer, CRD names and conditions. */
  private prepareBuiltin(def: ResourceDef, obj: Obj, old: Obj | undefined) {
    if (def.key === NS_KEY) {
      obj.spec ??= {};
      if (!old) obj.spec.finalizers ??= ['kubernetes'];
      obj.status = old?.status ?? { phase: 'Active' };
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name };
    }
    if (def.key === '/secrets') {
      obj.type ||= 'Opaque';
      // stringData is write-only: merged into data (base64), as the Secret strategy does.
      if (obj.stringData && typeof obj.stringData === 'object') {
        // Spread and fromEntries define keys: a `__proto__` key stays data (assigning it was dropped).
        const encoded = Object.entries(obj.stringData).map(([k, v]) => [k, Buffer.from(String(v), 'utf8').toString('base64')]);
        obj.data = { ...(obj.data ?? {}), ...Object.fromEntries(encoded) };
      }
      delete obj.stringData;
    }
    if (def.key === CRD_KEY) {
      const names = (obj.spec ??= {}).names ?? {};
      if (names.kind) {
        names.singular ??= String(names.kind).toLowerCase();
        names.listKind ??= `${names.kind}List`;
      }
      obj.spec.conversion ??= { strategy: 'None' };
      const storage = (obj.spec.versions ?? []).find((v: Obj) => v.storage)?.name;
      const t = old?.status?.conditions?.[0]?.lastTransitionTime ?? nowRfc3339();
      obj.status = {
        acceptedNames: { ...names },
        conditions: [
          { type: 'NamesAccepted', status: 'True', lastTransitionTime: t, reason: 'NoConflicts', message: 'no conflicts found' },
          { type: 'Established', status: 'True', lastTransitionTime: t, reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
        ],
        storedVersions: [...new Set([...(old?.status?.storedVersions ?? []), ...(storage ? [storage] : [])])],
      };
    }
  }

  // ------------------------------------------------------------------ update / patch

  async update(def: ResourceDef, ns: string | undefined, name: string, body: unknown, ctx: WriteCtx, sub?: 'status'): Promise<Obj> {
    const old = this.getStored(def, ns, name);
    const obj = this.decodeBody(def, body);
    const rv = obj.metadata?.resourceVersion;
    if (!rv && !def.allowUnconditionalUpdate)
      throw invalid(def.group, def.kind, name, [{ reason: 'FieldValueInvalid', message: 'Invalid value: 0: must be specified for an update', field: 'metadata.resourceVersion' }]);
    return this.commitUpdate(def, old, obj, ctx, sub);
  }

  async patch(
    def: ResourceDef, ns: string | undefined, name: string, type: PatchType, patch: unknown, ctx: WriteCtx,
    sub: 'status' | undefined, force: boolean,
  ): Promise<Obj> {
    const key = objectKey(def.namespaced ? ns : undefined, name);
    const old = this.store.get(def.key, key);
    if (type === 'apply') {
      if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw badRequest('error decoding YAML: the body is not an object');
      const cfg = patch as Obj;
      this.checkTypes(def, cfg);
      if (cfg.metadata?.name !== undefined && cfg.metadata.name !== name)
        throw badRequest(`the name of the object (${shown(cfg.metadata.name)}) does not match the name on the URL (${name})`);
      if (!cfg.apiVersion || !cfg.kind) throw badRequest('apiVersion and kind must be set in the apply configuration');
      const now = nowRfc3339();
      if (!old) {
        if (sub) throw notFound(gr(def), name);
        const applied = serverSideApply(undefined, cfg, ctx.manager, force, 'main', def.statusSubresource, now, def.schema);
        applied.metadata = { ...(applied.metadata ?? {}), name };
        const mf = applied.metadata.managedFields;
        delete applied.metadata.managedFields;
        return this.create(def, ns, applied, ctx, { managedFields: mf });
      }
      const live = this.out(def, old);
      const merged = serverSideApply(live, cfg, ctx.manager, force, sub ?? 'main', def.statusSubresource, now, def.schema);
      if (!cfg.metadata?.resourceVersion) merged.metadata.resourceVersion = old.metadata.resourceVersion;
      return this.commitUpdate(def, old, this.decodeBody(def, merged), ctx, sub, true);
    }
    if (!old) throw notFound(gr(def), name);
    // A merge patch of /status keeps the stored spec whatever it says (commitUpdate), and mergePatch
    // copies only what it changes: the spec is shared rather than copied first (a HostFilter's is
    // ~160 KB, and its agent reports status after each apply). Any other merge patch copies what it
    // keeps of the stored object and takes what it sets from the request as parsed (mergePatchOwned).
    // The other patch types work on a copy.
    const sharesSpec = sub === 'status' && !def.fromStorage && !def.toStorage;
    let next: Obj;
    switch (type) {
      case 'merge':
        if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw badRequest('json: cannot unmarshal into Go value of type map[string]interface {}');
        next = (sharesSpec ? mergePatch(forStatusMerge(this.out(def, old)), patch) : mergePatchOwned(this.out(def, old), patch)) as Obj;
        break;
      case 'json':
        next = jsonPatch(this.out(def, old), patch); // copies the stored object first
        break;
      case 'strategic':
        if (!def.strategicMerge)
          throw unsupportedMediaType('the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml');
        next = strategicMergePatch(cloneJson(this.out(def, old)), patch) as Obj;
        break;
    }
    if (next === null || typeof next !== 'object' || Array.isArray(next)) throw badRequest('the patch produced something that is not an object');
    if (next.metadata?.name !== name) throw badRequest(`metadata.name: Invalid value: ${JSON.stringify(next.metadata?.name) ?? 'null'}: field is immutable`);
    return this.commitUpdate(def, old, this.decodeBody(def, next), ctx, sub);
  }

  /** Shared tail of update and patch: preconditions, strategies, validation, no-op detection, write. */
  private async commitUpdate(def: ResourceDef, old: Obj, obj: Obj, ctx: WriteCtx, sub: 'status' | undefined, managedPreset = false): Promise<Obj> {
    const name = old.metadata.name;
    const meta = (obj.metadata ??= {});
    if (meta.name !== undefined && meta.name !== name)
      throw badRequest(`the name of the object (${shown(meta.name)}) does not match the name on the URL (${name})`);
    if (def.namespaced && meta.namespace !== undefined && meta.namespace !== old.metadata.namespace)
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    if (meta.resourceVersion && meta.resourceVersion !== old.metadata.resourceVersion) throw conflict(gr(def), name, STALE);
    if (meta.uid && meta.uid !== old.metadata.uid)
      throw conflict(gr(def), name, `Precondition failed: UID in precondition: ${shown(meta.uid)}, UID in object meta: ${old.metadata.uid}`);

    let next: Obj;
    // A status write on an object stored under this very def: its spec stays the stored one, shared
    // rather than copied, and only the rest is validated (statusWriteDef).
    const ratchet = sub === 'status' && old.spec !== undefined && this.validatedUnder.get(old) === def ? statusWriteDef(def) : undefined;
    if (sub === 'status') {
      next = ratchet ? withSharedSpec(old) : cloneJson(old);
      next.status = obj.status;
      if (obj.status === undefined) delete next.status;
      if (managedPreset) next.metadata.managedFields = meta.managedFields;
    } else {
      next = obj;
      if (def.statusSubresource) {
        if (old.status === undefined) delete next.status;
        else next.status = cloneJson(old.status);
      }
    }
    const nm = next.metadata;
    for (const f of ['name', 'namespace', 'uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'])
      if (old.metadata[f] === undefined) delete nm[f];
      else nm[f] = old.metadata[f];
    delete nm.selfLink;
    if (old.metadata.deletionTimestamp) {
      const added = (nm.finalizers ?? []).filter((f: string) => !(old.metadata.finalizers ?? []).includes(f));
      if (added.length)
        throw invalid(def.group, def.kind, name, [{ reason: 'FieldValueForbidden', message: 'Forbidden: no new finalizers can be added if the object is being deleted', field: 'metadata.finalizers' }]);
    }
    this.prepareBuiltin(def, next, old);
    this.validate(ratchet ?? def, next, ctx, old);
    this.admit(def, 'UPDATE', old.metadata.namespace, name, next, old, ctx, sub);
    if ((def.key === '/configmaps' || def.key === '/secrets') && old.immutable === true) {
      const causes: StatusCause[] = [];
      for (const f of def.key === '/configmaps' ? ['data', 'binaryData'] : ['data'])
        if (!deepEqual(old[f] ?? null, next[f] ?? null)) causes.push({ reason: 'FieldValueForbidden', message: 'Forbidden: field is immutable when `immutable` is set', field: f });
      if (next.immutable !== true) causes.push({ reason: 'FieldValueForbidden', message: 'Forbidden: field is immutable when `immutable` is set', field: 'immutable' });
      if (causes.length) throw invalid(def.group, def.kind, name, causes);
    }
    const specChanged = def.generation === 'cr' && !deepEqual(specPart(old), specPart(next));
    if (specChanged) nm.generation = (old.metadata.generation ?? 0) + 1;
    const now = nowRfc3339();
    if (!managedPreset) {
      const provided = meta.managedFields;
      if (sub !== 'status' && provided !== undefined && !deepEqual(provided, old.metadata.managedFields)) {
        if (Array.isArray(provided) && provided.length === 0) delete nm.managedFields;
        else nm.managedFields = provided;
      } else {
        const mf = updateManagedFields(old, next, ctx.manager, sub ?? 'main', def.statusSubresource, now, def.schema);
        if (mf) nm.managedFields = mf;
        else delete nm.managedFields;
      }
    }
    nm.resourceVersion = old.metadata.resourceVersion;
    // No-op: nothing but managedFields timestamps would change; kube-apiserver skips such writes.
    // (A changed spec is no no-op: the whole object need not be compared again.)
    if (!specChanged && deepEqual(comparable(old), comparable(next)) && deepEqual(timeless(old.metadata.managedFields), timeless(nm.managedFields)))
      return this.out(def, old);
    const json = this.checkSize(def, next);
    if (ctx.dryRun) return this.out(def, next);
    if (nm.deletionTimestamp && (nm.finalizers ?? []).length === 0 && !(def.key === NS_KEY && (next.spec?.finalizers ?? []).length)) {
      const removed = this.removeNow(def, next);
      this.countWrite(ctx);
      await this.store.durable();
      return this.out(def, removed);
    }
    const stored = this.store.put(def.key, next, json);
    this.validatedUnder.set(stored, def);
    this.countWrite(ctx, json.text);
    this.afterWrite(def, stored);
    await this.store.durable();
    return this.out(def, stored);
  }

  // ------------------------------------------------------------------ delete

  async delete(def: ResourceDef, ns: string | undefined, name: string, opts: DeleteOptions, ctx: WriteCtx): Promise<{ obj: Obj; gone: boolean }> {
    const old = this.getStored(def, ns, name);
    const pre = opts.preconditions ?? {};
    if (pre.uid && pre.uid !== old.metadata.uid)
      throw conflict(gr(def), name, `Precondition failed: UID in precondition: ${shown(pre.uid)}, UID in object meta: ${old.metadata.uid}`);
    if (pre.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion)
      throw conflict(gr(def), name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`);
    if (def.key === NS_KEY && IMMORTAL_NAMESPACES.has(name)) throw forbidden(`namespaces "${name}" is forbidden: this namespace may not be deleted`);
    const policy = opts.propagationPolicy ?? (opts.orphanDependents === true ? 'Orphan' : 'Background');
    this.admit(def, 'DELETE', old.metadata.namespace, name, undefined, old, ctx);
    if (ctx.dryRun) return { obj: this.out(def, old), gone: true };
    const r = await this.deleteStored(def, old, policy);
    this.countWrite(ctx);
    await this.store.durable();
    return { obj: this.out(def, r.obj), gone: r.gone };
  }

  /** Delete logic shared by the verb, deletecollection, namespace cleanup and the GC. */
  private async deleteStored(def: ResourceDef, old: Obj, policy: 'Foreground' | 'Background' | 'Orphan'): Promise<{ obj: Obj; gone: boolean }> {
    const finalizers: string[] = [...(old.metadata.finalizers ?? [])];
    if (policy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
    if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion')) finalizers.push('foregroundDeletion');
    const isNs = def.key === NS_KEY;
    if (isNs || finalizers.length > 0) {
      if (old.metadata.deletionTimestamp && deepEqual(finalizers, old.metadata.finalizers ?? [])) {
        return { obj: old, gone: false };
      }
      const next = cloneJson(old);
      next.metadata.deletionTimestamp ??= nowRfc3339();
      next.metadata.deletionGracePeriodSeconds ??= 0;
      if (finalizers.length) next.metadata.finalizers = finalizers;
      if (def.generation === 'cr' && !old.metadata.deletionTimestamp) next.metadata.generation = (old.metadata.generation ?? 0) + 1;
      if (isNs) next.status = { ...(next.status ?? {}), phase: 'Terminating' };
      const stored = this.store.put(def.key, next);
      if (isNs) this.enqueue(() => this.cleanNamespace(stored.metadata.name));
      if (finalizers.includes('foregroundDeletion') || finalizers.includes('orphan')) this.enqueue(() => this.processOwnerDeletion(stored.metadata.uid));
      return { obj: stored, gone: false };
    }
    return { obj: this.removeNow(def, old), gone: true };
  }

  async deleteCollection(def: ResourceDef, ns: string | undefined, opts: ListOptions, delOpts: DeleteOptions, ctx: WriteCtx): Promise<Obj[]> {
    const { items } = this.list(def, ns, { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector });
    const out: Obj[] = [];
    const policy = delOpts.propagationPolicy ?? (delOpts.orphanDependents ? 'Orphan' : 'Background');
    for (const o of items) this.admit(def, 'DELETE', o.metadata.namespace, o.metadata.name, undefined, o, ctx);
    for (const o of items) {
      if (ctx.dryRun) {
        out.push(this.out(def, o));
        continue;
      }
      const r = await this.deleteStored(def, o, policy);
      out.push(this.out(def, r.obj));
    }
    await this.store.durable();
    return out;
  }

  /** The object leaves the store: DELETED event, then dependents, namespaces and CRD follow-ups. */
  private removeNow(def: ResourceDef, obj: Obj): Obj {
    const key = objectKey(obj.metadata.namespace, obj.metadata.name);
    if (def.key === CRD_KEY) this.dropCrdInstances(obj);
    const removed = this.store.remove(def.key, key) ?? obj;
    if (def.key === CRD_KEY) this.registry.removeCrd(obj.metadata.name);
    const uid = obj.metadata.uid;
    if (this.store.ownerIndex.has(uid)) this.enqueue(() => this.collectOrphans(uid));
    for (const ref of obj.metadata.ownerReferences ?? []) this.enqueue(() => this.processOwnerDeletion(ref.uid));
    const ns = obj.metadata.namespace;
    if (ns && this.store.get(NS_KEY, ns)?.metadata.deletionTimestamp) this.enqueue(() => this.finishNamespace(ns));
    this.log.debug({ resource: def.key, key }, 'object removed');
    return removed;
  }

  private afterWrite(def: ResourceDef, stored: Obj) {
    if (def.key === CRD_KEY) this.installCrd(stored);
    // Dangling owner references: the garbage collector deletes such dependents too.
    for (const ref of stored.metadata.ownerReferences ?? [])
      if (ref?.uid && !this.ownerOf(stored, ref)) this.enqueue(() => this.collectOrphans(ref.uid));
  }

  /**
   * The owner a reference names, as kube's garbage collector resolves it: the object of that uid only
   * if its group, kind and name are the reference's, and a namespaced owner only in the dependent's
   * own namespace (else the reference is absent). By uid alone, anyone who learned another tenant's
   * uid could make its own object a dependent of that tenant's, and hold its foreground deletion.
   */
  private ownerOf(dependent: Obj, ref: Obj): { res: string; key: string; obj: Obj } | undefined {
    const owner = typeof ref?.uid === 'string' ? this.store.byUid(ref.uid) : undefined;
    if (!owner) return undefined;
    const group = (apiVersion: unknown) => (typeof apiVersion === 'string' && apiVersion.includes('/') ? apiVersion.split('/')[0] : '');
    const m = owner.obj.metadata;
    if (m.name !== ref.name || owner.obj.kind !== ref.kind || group(owner.obj.apiVersion) !== group(ref.apiVersion)) return undefined;
    if (m.namespace !== undefined && m.namespace !== dependent.metadata.namespace) return undefined;
    return owner;
  }

  /** Whether `dep` holds a reference with this uid that resolves to its owner (ownerOf). */
  private ownedBy(dep: Obj, ownerUid: string): boolean {
    return (dep.metadata.ownerReferences ?? []).some((r: Obj) => r?.uid === ownerUid && this.ownerOf(dep, r));
  }

  // ------------------------------------------------------------------ CRDs

  installCrd(crd: Obj) {
    try {
      this.registry.setCrd(crd.metadata.name, defsFromCrd(crd));
    } catch (e) {
      this.log.error({ err: e, crd: crd.metadata.name }, 'cannot install CRD');
    }
  }

  /** Instances go with their CRD (apiextensions' customresourcecleanup finalizer, done inline). */
  private dropCrdInstances(crd: Obj) {
    const key = `${crd.spec.group}/${crd.spec.names.plural}`;
    const r = this.store.resources.get(key);
    if (!r) return;
    for (const k of [...r.keys()]) this.store.remove(key, k);
    for (const w of r.watchers()) w.close?.();
  }

  // ------------------------------------------------------------------ garbage collection and namespaces

  private enqueue(fn: () => void | Promise<void>) {
    this.gcQueue.push(
      () =>
        void Promise.resolve()
          .then(fn)
          .then(() => this.store.durable())
          .catch((e) => this.log.warn({ err: e }, 'background deletion step failed')),
    );
    if (!this.gcScheduled) {
      this.gcScheduled = true;
      setImmediate(() => this.drainGc());
    }
  }

  private drainGc() {
    const batch = this.gcQueue;
    this.gcQueue = [];
    for (const fn of batch) fn();
    setImmediate(() => {
      if (this.gcQueue.length) this.drainGc();
      else {
        this.gcScheduled = false;
        const w = this.gcIdleWaiters;
        this.gcIdleWaiters = [];
        w.forEach((f) => f());
      }
    });
  }

  /** Resolves when background deletion work (GC, namespace cleanup) has run out. */
  gcIdle(): Promise<void> {
    if (!this.gcScheduled) return Promise.resolve();
    return new Promise((r) => this.gcIdleWaiters.push(r));
  }

  private defForKey(key: string): ResourceDef | undefined {
    return this.registry.all().find((d) => d.key === key && !d.fromStorage);
  }

  /** Background GC: dependents whose owners are all gone are deleted; others lose the dangling reference. */
  private async collectOrphans(ownerUid: string) {
    for (const dep of this.store.dependents(ownerUid)) {
      const def = this.defForKey(dep.res);
      // Only where this uid is dangling: another object's reference to the same uid, unresolved, is
      // no reason to collect the owner's real dependents.
      if (!def || this.ownedBy(dep.obj, ownerUid)) continue;
      const refs: Obj[] = dep.obj.metadata.ownerReferences ?? [];
      const alive = refs.filter((r) => r.uid !== ownerUid && this.ownerOf(dep.obj, r));
      if (alive.length === 0) {
        if (!dep.obj.metadata.deletionTimestamp) await this.deleteStored(def, dep.obj, 'Background');
      } else {
        const next = cloneJson(dep.obj);
        next.metadata.ownerReferences = refs.filter((r) => r.uid !== ownerUid);
        this.store.put(def.key, next);
      }
    }
  }

  /** Foreground and orphan deletion of an owner that carries the matching finalizer. */
  private async processOwnerDeletion(ownerUid: string) {
    const owner = this.store.byUid(ownerUid);
    if (!owner || !owner.obj.metadata.deletionTimestamp) return;
    const def = this.defForKey(owner.res);
    if (!def) return;
    const fins: string[] = owner.obj.metadata.finalizers ?? [];
    const deps = this.store.dependents(ownerUid).filter((d) => this.ownedBy(d.obj, ownerUid));
    if (fins.includes('orphan')) {
      for (const dep of deps) {
        const ddef = this.defForKey(dep.res);
        if (!ddef) continue;
        const next = cloneJson(dep.obj);
        next.metadata.ownerReferences = (next.metadata.ownerReferences ?? []).filter((r: Obj) => r.uid !== ownerUid);
        if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
        this.store.put(ddef.key, next);
      }
      await this.dropFinalizer(def, ownerUid, 'orphan');
      return;
    }
    if (fins.includes('foregroundDeletion')) {
      // Every dependent is deleted; only those whose reference says blockOwnerDeletion hold the owner
      // (kube's GC): any reference used to hold it.
      for (const dep of deps) {
        const ddef = this.defForKey(dep.res);
        if (ddef && !dep.obj.metadata.deletionTimestamp) await this.deleteStored(ddef, dep.obj, 'Foreground');
      }
      const blocking = deps.filter((d) => this.store.byUid(d.obj.metadata.uid) &&
        (d.obj.metadata.ownerReferences ?? []).some((r: Obj) => r?.uid === ownerUid && r.blockOwnerDeletion === true));
      if (blocking.length === 0) await this.dropFinalizer(def, ownerUid, 'foregroundDeletion');
    }
  }

  private async dropFinalizer(def: ResourceDef, uid: string, finalizer: string) {
    const cur = this.store.byUid(uid);
    if (!cur) return;
    const next = cloneJson(cur.obj);
    next.metadata.finalizers = (next.metadata.finalizers ?? []).filter((f: string) => f !== finalizer);
    if (next.metadata.finalizers.length === 0) {
      delete next.metadata.finalizers;
      this.removeNow(def, next);
    } else this.store.put(def.key, next);
  }

  /** Namespace controller: delete everything in a terminating namespace, then finalize it. */
  private async cleanNamespace(ns: string) {
    for (const key of new Set(this.registry.all().filter((d) => d.namespaced && !d.fromStorage).map((d) => d.key))) {
      const def = this.defForKey(key);
      const r = this.store.resources.get(key);
      if (!def || !r) continue;
      for (const k of [...r.keysIn(ns)]) {
        const o = r.objects.get(k);
        if (o && !o.metadata.deletionTimestamp) await this.deleteStored(def, o, 'Background');
      }
    }
    this.finishNamespace(ns);
  }

  private finishNamespace(ns: string) {
    const nsObj = this.store.get(NS_KEY, ns);
    if (!nsObj?.metadata.deletionTimestamp) return;
    for (const r of this.store.resources.values()) if (r.key !== NS_KEY && r.keysIn(ns).length > 0) return;
    const def = this.defForKey(NS_KEY)!;
    const next = cloneJson(nsObj);
    next.spec = { ...(next.spec ?? {}), finalizers: [] };
    if ((next.metadata.finalizers ?? []).length === 0) this.removeNow(def, next);
    else if (!deepEqual(next.spec, nsObj.spec)) this.store.put(NS_KEY, next);
  }

  /**
   * After a restart: resume what the namespace controller and the garbage collector were doing
   * (terminating namespaces, foreground/orphan deletions) and collect objects whose owners are gone.
   */
  resumeBackgroundWork() {
    for (const r of this.store.resources.values()) {
      for (const o of r.objects.values()) {
        const m = o.metadata;
        if (r.key === NS_KEY && m.deletionTimestamp) this.enqueue(() => this.cleanNamespace(m.name));
        if (m.deletionTimestamp && (m.finalizers ?? []).some((f: string) => f === 'foregroundDeletion' || f === 'orphan'))
          this.enqueue(() => this.processOwnerDeletion(m.uid));
        for (const ref of m.ownerReferences ?? [])
          if (ref?.uid && !this.ownerOf(o, ref)) this.enqueue(() => this.collectOrphans(ref.uid));
      }
    }
  }

  /** Creates a namespace if missing (startup defaults). */
  ensureNamespace(name: string) {
    if (this.store.get(NS_KEY, name)) return;
    const def = this.defForKey(NS_KEY)!;
    const obj: Obj = { apiVersion: 'v1', kind: 'Namespace', metadata: { name, uid: randomUUID(), creationTimestamp: nowRfc3339() } };
    this.prepareBuiltin(def, obj, undefined);
    this.store.put(NS_KEY, obj);
  }

  /** JSON text of a stored object in a def's shape, as a list item (see listJson: lists do not fill the text cache). */
  listItemJson(def: ResourceDef, obj: Obj): string {
    return listJson(this.out(def, obj));
  }
}

function crdErrors(crd: Obj): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  if (!spec.group) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.group' });
  if (!names.plural) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.names.plural' });
  if (!names.kind) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.names.kind' });
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster')
    causes.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(spec.scope ?? '')}: supported values: "Cluster", "Namespaced"`, field: 'spec.scope' });
  if (!Array.isArray(spec.versions) || spec.versions.length === 0)
    causes.push({ reason: 'FieldValueRequired', message: 'Required value: must have exactly one version marked as storage version', field: 'spec.versions' });
  else if (spec.versions.filter((v: Obj) => v.storage).length !== 1)
    causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(spec.versions.map((v: Obj) => v.name))}: must have exactly one version marked as storage version`, field: 'spec.versions' });
  if (Array.isArray(spec.versions))
    spec.versions.forEach((v: Obj, i: number) => {
      for (const e of compileRules(v?.schema?.openAPIV3Schema).errors)
        causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(e.value)}: ${e.message}`, field: `spec.versions[${i}].schema.openAPIV3Schema.${e.path}` });
    });
  if (names.plural && spec.group && crd.metadata?.name !== `${names.plural}.${spec.group}`)
    causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(crd.metadata?.name)}: must be spec.names.plural+"."+spec.group`, field: 'metadata.name' });
  return causes;
}

export { ApiError };
