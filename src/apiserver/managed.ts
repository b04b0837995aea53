// metadata.managedFields and server-side apply, the part kubectl needs: field sets per manager
// (FieldsV1: maps granular, list-type=map lists per element, other lists atomic), ownership transfer on updates, apply merging,
// removal of fields a manager stopped applying, and conflicts (409) unless force=true.
import { ApiError } from './errors';
import { declaredProperty } from './schema';
import { deepEqual } from './validation';
import type { Obj } from './store';
import { ownValue, setOwn } from '../util/own-keys';

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Obj;
  subresource?: string;
}

const SEP = '\u0000';
const isPlainObject = (v: unknown): v is Record<string, any> => v !== null && typeof v === 'object' && !Array.isArray(v);
// Field names come from the request (an apply configuration, client-written managedFields): they are
// read with ownValue and written with setOwn. `result.__proto__` is Object.prototype, and merging into
// it or deleting from it changed every object of the process.
const META_OWNED = ['labels', 'annotations', 'finalizers', 'ownerReferences'];

type Schema = Record<string, any> | undefined;

const subSchema = (schema: Schema, key: string): Schema =>
  declaredProperty(schema, key) ?? (isPlainObject(schema?.additionalProperties) ? schema!.additionalProperties : undefined);

/** Key fields of an x-kubernetes-list-type=map list (sorted, as structured-merge-diff serializes them). */
function listMapKeys(schema: Schema): string[] | undefined {
  const keys = schema?.['x-kubernetes-list-map-keys'];
  return schema?.['x-kubernetes-list-type'] === 'map' && Array.isArray(keys) && keys.length ? [...keys].sort() : undefined;
}

const elementKey = (item: Obj, keys: string[]) => `k:${JSON.stringify(Object.fromEntries(keys.map((k) => [k, ownValue(item, k)])))}`;
/** The fields a `k:{...}` segment names, or undefined when a client wrote one that is not a JSON object. */
function parseKey(seg: string): Obj | undefined {
  try {
    const v: unknown = JSON.parse(seg.slice(2));
    return isPlainObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Leaf paths ("f:spec\0f:tier", "f:spec\0f:vnics\0k:{"name":"eth0"}\0f:ip") of the fields an object
 * sets, for the main resource or /status. Maps are granular, list-type=map lists per element (when a
 * schema says so), other lists atomic.
 */
export function fieldPaths(obj: Obj, scope: 'main' | 'status', statusSubresource: boolean, schema?: Schema, values?: Map<string, unknown>): Set<string> {
  const out = new Set<string>();
  // `values` gets each leaf's value as valueAt reads it: through the first element of a list-map
  // that has its key (`first`), so a duplicate element's leaves get none.
  const walk = (v: unknown, prefix: string, sch: Schema, first: boolean) => {
    const keys = Array.isArray(v) ? listMapKeys(sch) : undefined;
    if (isPlainObject(v) && Object.keys(v).length > 0) {
      for (const [k, x] of Object.entries(v)) walk(x, prefix ? `${prefix}${SEP}f:${k}` : `f:${k}`, subSchema(sch, k), first);
    } else if (keys && (v as unknown[]).length > 0 && (v as unknown[]).every(isPlainObject)) {
      const seen = values && new Set<string>();
      for (const item of v as Obj[]) {
        const key = elementKey(item, keys);
        walk(item, `${prefix}${SEP}${key}`, sch?.items, first && !seen?.has(key));
        seen?.add(key);
      }
    } else {
      out.add(prefix);
      if (values && first) values.set(prefix, v);
    }
  };
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'metadata') {
      if (scope === 'status') continue;
      for (const mk of META_OWNED) if (v?.[mk] !== undefined) walk(v[mk], `f:metadata${SEP}f:${mk}`, undefined, true);
      continue;
    }
    if (k === 'status' && statusSubresource) {
      if (scope === 'status') walk(v, 'f:status', subSchema(schema, 'status'), true);
      continue;
    }
    if (scope === 'main') walk(v, `f:${k}`, subSchema(schema, k), true);
  }
  return out;
}

/** One path segment: a map field (f:name) or a list-map element (k:{...}). */
function step(cur: any, seg: string): { parent: any; key: string | number } | undefined {
  if (seg.startsWith('f:')) return isPlainObject(cur) ? { parent: cur, key: seg.slice(2) } : undefined;
  if (seg.startsWith('k:') && Array.isArray(cur)) {
    const want = parseKey(seg);
    if (!want) return undefined;
    const i = cur.findIndex((it) => isPlainObject(it) && Object.entries(want).every(([k, v]) => sameValue(ownValue(it, k), v)));
    return i >= 0 ? { parent: cur, key: i } : undefined;
  }
  return undefined;
}

function valueAt(obj: unknown, path: string): unknown {
  let cur: any = obj;
  for (const seg of path.split(SEP)) {
    const s = step(cur, seg);
    if (!s) return undefined;
    cur = ownValue(s.parent, s.key);
  }
  return cur;
}

function deleteAt(obj: Obj, path: string) {
  const chain: { parent: any; key: string | number }[] = [];
  let cur: any = obj;
  for (const seg of path.split(SEP)) {
    const s = step(cur, seg);
    if (!s) return;
    chain.push(s);
    cur = ownValue(s.parent, s.key);
  }
  const last = chain.pop()!;
  if (Array.isArray(last.parent)) last.parent.splice(last.key as number, 1);
  else delete last.parent[last.key];
  // Drop maps (and list-map elements) the removal left empty; never a top-level field itself.
  for (let i = chain.length - 1; i >= 1; i--) {
    const c = chain[i]!;
    const v = ownValue(c.parent, c.key);
    if (!isPlainObject(v) || Object.keys(v).length > 0) break;
    if (Array.isArray(c.parent)) {
      c.parent.splice(c.key as number, 1);
      break;
    }
    delete c.parent[c.key];
  }
}

// Structural, stopping at the first difference: a HostFilter's atomic lists are 100 KB values, and
// comparing their JSON text serialized both whole on every write.
const sameValue = deepEqual;

/** Does p lie on the same branch as q (equal, or one a prefix of the other)? */
const overlaps = (p: string, q: string) => p === q || under(p, q) || under(q, p);
/** Is p below q (q + SEP a prefix of p), without building q + SEP? */
const under = (p: string, q: string) => p.length > q.length && p.charCodeAt(q.length) === 0 && p.startsWith(q);

/**
 * A set of paths asked "does any lie on p's branch" in time linear in p's depth: a status write
 * checked every path of every entry against every changed path, each check concatenating strings.
 */
class Branches {
  private readonly exact: Set<string>;
  /** Every proper prefix (at a separator) of a path in the set. */
  private readonly above = new Set<string>();

  constructor(paths: Iterable<string>) {
    this.exact = new Set(paths);
    for (const p of this.exact) for (let i = p.indexOf(SEP); i >= 0; i = p.indexOf(SEP, i + 1)) this.above.add(p.slice(0, i));
  }

  /** Some path of the set overlaps p (see overlaps). */
  overlaps(p: string): boolean {
    return this.exact.has(p) || this.overlapsOther(p);
  }

  /** Some path of the set other than p itself overlaps p. */
  overlapsOther(p: string): boolean {
    if (this.above.has(p)) return true;
    for (let i = p.indexOf(SEP); i >= 0; i = p.indexOf(SEP, i + 1)) if (this.exact.has(p.slice(0, i))) return true;
    return false;
  }
}

/**
 * fieldsV1 trees are interned: objects written the same way by the same manager (40,000 VMs whose
 * status the operator writes) share one frozen tree instead of each holding its own hundred small
 * objects. managedFields were half of every stored object's memory. Only small trees (large ones,
 * like a HostFilter's bindings keyed by VM, are rarely identical) and a bounded table.
 */
const INTERN_MAX_PATHS = 256;
const INTERN_MAX_TREES = 16_384;
const interned = new Map<string, Obj>();

function deepFreeze(o: Obj): Obj {
  for (const v of Object.values(o)) deepFreeze(v as Obj);
  return Object.freeze(o);
}

export function toFieldsV1(paths: Set<string>): Obj {
  const key = paths.size <= INTERN_MAX_PATHS ? [...paths].join('\u0000') : undefined;
  const hit = key === undefined ? undefined : interned.get(key);
  if (hit) return hit;
  const root: Obj = {};
  for (const p of paths) {
    let cur = root;
    for (const seg of p.split(SEP)) {
      if (!Object.hasOwn(cur, seg)) setOwn(cur, seg, {});
      cur = cur[seg];
    }
  }
  if (key === undefined) return root;
  if (interned.size >= INTERN_MAX_TREES) interned.clear();
  interned.set(key, deepFreeze(root));
  return root;
}

export function fromFieldsV1(tree: Obj | undefined): Set<string> {
  const out = new Set<string>();
  // A client may write any managedFields: a member that is not an object (null, a list, a string)
  // names no children, so it is a leaf like {}.
  const walk = (node: unknown, prefix: string) => {
    const keys = isPlainObject(node) ? Object.keys(node).filter((k) => k !== '.') : [];
    if (keys.length === 0 && prefix) out.add(prefix);
    for (const k of keys) walk((node as Obj)[k], prefix ? `${prefix}${SEP}${k}` : k);
  };
  if (tree) walk(tree, '');
  return out;
}

const displayPath = (p: string) => '.' + p.split(SEP).map((s) => s.slice(2)).join('.');

interface Entry {
  e: ManagedFieldsEntry;
  paths: Set<string>;
  /** Paths changed since load: fieldsV1 must be rebuilt. */
  dirty?: boolean;
}

function load(managed: unknown): Entry[] {
  return loadTouching(managed, () => true) as Entry[];
}

/** A path's first segment (its top-level field, e.g. "f:status"). */
const topField = (p: string) => {
  const i = p.indexOf(SEP);
  return i < 0 ? p : p.slice(0, i);
};

/** Does a fieldsV1 tree name any of these top-level fields? */
const touchesAny = (tree: unknown, fields: Set<string>) => isPlainObject(tree) && Object.keys(tree).some((k) => fields.has(k));

/**
 * The valid entries, with their paths expanded only where `expand` says: the others (paths
 * undefined) are stored as they are, or dropped when they name no field (as an expanded empty set is).
 */
function loadTouching(managed: unknown, expand: (e: ManagedFieldsEntry) => boolean): Array<Omit<Entry, 'paths'> & { paths?: Set<string> }> {
  if (!Array.isArray(managed)) return [];
  return managed
    .filter((m): m is ManagedFieldsEntry => isPlainObject(m) && typeof m.manager === 'string')
    .map((e) => ({ e, paths: expand(e) ? fromFieldsV1(e.fieldsV1) : undefined }));
}

function store(entries: Array<Omit<Entry, 'paths'> & { paths?: Set<string> }>): ManagedFieldsEntry[] | undefined {
  const out = entries
    .filter((x) => (x.paths ? x.paths.size > 0 : namesAField(x.e.fieldsV1)))
    .map((x) => (x.dirty && x.paths ? { ...x.e, fieldsV1: toFieldsV1(x.paths) } : x.e));
  return out.length ? out : undefined;
}

/** Would fromFieldsV1 find any path in this tree? (Any member but "." is one, or leads to one.) */
const namesAField = (tree: unknown) => isPlainObject(tree) && Object.keys(tree).some((k) => k !== '.');

const sameEntry = (e: ManagedFieldsEntry, manager: string, op: string, sub: string | undefined) =>
  e.manager === manager && e.operation === op && (e.subresource ?? undefined) === sub;

/**
 * managedFields after a non-apply write by `manager`: fields it changed become its own (and
 * leave other managers); fields that disappeared leave everyone.
 */
export function updateManagedFields(
  oldObj: Obj | undefined,
  newObj: Obj,
  manager: string,
  scope: 'main' | 'status',
  statusSubresource: boolean,
  now: string,
  schema?: Schema,
): ManagedFieldsEntry[] | undefined {
  const newValues = new Map<string, unknown>();
  const oldValues = new Map<string, unknown>();
  const newPaths = fieldPaths(newObj, scope, statusSubresource, schema, newValues);
  const oldPaths = oldObj ? fieldPaths(oldObj, scope, statusSubresource, schema, oldValues) : new Set<string>();
  // A leaf with no recorded value lies under a duplicate list-map element: read it as valueAt does.
  const at = (values: Map<string, unknown>, obj: unknown, p: string) => (values.has(p) ? values.get(p) : valueAt(obj, p));
  const sub = scope === 'status' ? 'status' : undefined;
  const unaffected = outcomeIgnores(oldObj?.metadata?.managedFields, manager, sub);
  const changed: string[] = [];
  // Values whose comparison cannot change the result (unaffected) are compared only when nothing
  // else changed: a HostFilter's spec is rewritten whole by its one writer, and comparing its
  // atomic lists (100 KB) was 10 % of the server's CPU per filter write, only to learn what that
  // writer already owns.
  const deferred: string[] = [];
  for (const p of newPaths) {
    if (!oldPaths.has(p)) {
      changed.push(p);
      continue;
    }
    const was = at(oldValues, oldObj, p);
    const is = at(newValues, newObj, p);
    if (was !== is && costlyToCompare(was) && costlyToCompare(is) && unaffected(p)) deferred.push(p);
    else if (!sameValue(was, is)) changed.push(p);
  }
  const removed = [...oldPaths].filter((p) => !newPaths.has(p));
  if (changed.length === 0 && removed.length === 0) {
    const first = deferred.find((p) => !sameValue(at(oldValues, oldObj, p), at(newValues, newObj, p)));
    if (first === undefined) return oldObj?.metadata?.managedFields;
    changed.push(first);
  }
  // Paths overlap only under the same top-level field: an entry with none of the fields written (a
  // status write against the creator's spec fields) is kept as it is, its fieldsV1 never expanded.
  const touched = new Set<string>();
  for (const p of [...changed, ...removed]) touched.add(topField(p));
  const entries = loadTouching(oldObj?.metadata?.managedFields, (e) => sameEntry(e, manager, 'Update', sub) || touchesAny(e.fieldsV1, touched));
  const removedBranches = new Branches(removed);
  const changedBranches = new Branches(changed);
  for (const x of entries) {
    if (!x.paths) continue;
    for (const p of [...x.paths]) {
      if (removedBranches.overlaps(p) && !newPaths.has(p)) {
        x.paths.delete(p);
        x.dirty = true;
      } else if (changedBranches.overlaps(p) && !sameEntry(x.e, manager, 'Update', sub)) {
        x.paths.delete(p);
        x.dirty = true;
      }
    }
  }
  let mine = entries.find((x) => sameEntry(x.e, manager, 'Update', sub)) as Entry | undefined;
  if (!mine) {
    mine = { e: baseEntry(manager, 'Update', newObj.apiVersion, now, sub), paths: new Set() };
    entries.push(mine);
  }
  mine.e = { ...mine.e, time: now, apiVersion: newObj.apiVersion };
  let pathsChanged = false;
  for (const p of [...mine.paths])
    if (changedBranches.overlapsOther(p)) {
      mine.paths.delete(p);
      pathsChanged = true;
    }
  for (const c of changed)
    if (!mine.paths.has(c)) {
      mine.paths.add(c);
      pathsChanged = true;
    }
  if (pathsChanged || !mine.e.fieldsV1 || Object.keys(mine.e.fieldsV1).length === 0) mine.dirty = true;
  return store(entries);
}

/**
 * A list of objects, or of 16 items or more: worth asking outcomeIgnores about. A short list of
 * strings (a policy's status warnings) compares faster than the question is answered, and a status
 * write is the status storm's unit.
 */
const costlyToCompare = (v: unknown): boolean => Array.isArray(v) && (v.length >= 16 || (v.length > 0 && v[0] !== null && typeof v[0] === 'object'));

/**
 * The paths whose being changed or not leaves updateManagedFields' result as it is, provided some
 * other path changed or was removed: the writer's own entry already holds the path, and no other
 * manager's entry names its top-level field. (A changed path takes fields on its branch from other
 * entries and from the writer's, and is added to the writer's; an entry's paths are leaves, so one
 * that holds p holds nothing else on p's branch.)
 */
function outcomeIgnores(managed: unknown, manager: string, sub: string | undefined): (p: string) => boolean {
  let test: ((p: string) => boolean) | undefined;
  // Built on first use: most writes (statuses) have no list worth asking about.
  const build = (): ((p: string) => boolean) => {
    if (!Array.isArray(managed)) return () => false;
    const valid = managed.filter((m): m is ManagedFieldsEntry => isPlainObject(m) && typeof m.manager === 'string');
    const mine = valid.find((e) => sameEntry(e, manager, 'Update', sub));
    if (!mine) return () => false;
    const own = fromFieldsV1(mine.fieldsV1);
    const othersTop = new Set<string>();
    for (const e of valid) if (!sameEntry(e, manager, 'Update', sub) && isPlainObject(e.fieldsV1)) for (const k of Object.keys(e.fieldsV1)) othersTop.add(k);
    return (p) => own.has(p) && !othersTop.has(topField(p));
  };
  return (p) => (test ??= build())(p);
}

function baseEntry(manager: string, operation: 'Apply' | 'Update', apiVersion: string, time: string, subresource?: string): ManagedFieldsEntry {
  const e: ManagedFieldsEntry = { manager, operation, apiVersion, time, fieldsType: 'FieldsV1', fieldsV1: {} };
  if (subresource) e.subresource = subresource;
  return e;
}

function deepMerge(target: Obj, src: Obj, schema: Schema) {
  for (const [k, v] of Object.entries(src)) {
    const sch = subSchema(schema, k);
    const keys = listMapKeys(sch);
    const cur = ownValue(target, k);
    if (isPlainObject(v) && isPlainObject(cur)) deepMerge(cur, v, sch);
    else if (keys && Array.isArray(v) && Array.isArray(cur)) mergeListMap(cur, v, keys, sch?.items);
    else setOwn(target, k, structuredClone(v));
  }
}

/** list-type=map: elements merge by key; elements the config does not mention stay. */
function mergeListMap(target: unknown[], src: unknown[], keys: string[], itemSchema: Schema) {
  for (const item of src) {
    if (!isPlainObject(item)) continue;
    const key = elementKey(item, keys);
    const i = target.findIndex((t) => isPlainObject(t) && elementKey(t, keys) === key);
    if (i < 0) target.push(structuredClone(item));
    else if (isPlainObject(target[i])) deepMerge(target[i] as Obj, item, itemSchema);
    else target[i] = structuredClone(item);
  }
}

/**
 * Server-side apply of `config` by `manager` onto `live` (undefined: create). Returns the merged
 * object with its managedFields; throws 409 on conflicts unless force.
 */
export function serverSideApply(
  live: Obj | undefined,
  config: Obj,
  manager: string,
  force: boolean,
  scope: 'main' | 'status',
  statusSubresource: boolean,
  now: string,
  schema?: Schema,
): Obj {
  const entries = load(live?.metadata?.managedFields);
  const sub = scope === 'status' ? 'status' : undefined;
  const applied = fieldPaths(config, scope, statusSubresource, schema);
  // Like structured-merge-diff: a conflict is a field both set (same path) with a different value.
  const conflicts: { manager: string; apiVersion: string; path: string }[] = [];
  for (const x of entries) {
    if (sameEntry(x.e, manager, 'Apply', sub)) continue;
    for (const a of applied) {
      if (!x.paths.has(a)) continue;
      if (sameValue(valueAt(live, a), valueAt(config, a))) continue;
      conflicts.push({ manager: x.e.manager, apiVersion: x.e.apiVersion, path: a });
    }
  }
  if (conflicts.length && !force) {
    const uniq = [...new Map(conflicts.map((c) => [`${c.manager}\n${c.path}`, c])).values()];
    const causes = uniq.map((c) => ({
      reason: 'FieldManagerConflict',
      message: `conflict with "${c.manager}" using ${c.apiVersion}`,
      field: displayPath(c.path),
    }));
    const msg = uniq.length === 1
      ? `Apply failed with 1 conflict: conflict with "${uniq[0]!.manager}" using ${uniq[0]!.apiVersion}: ${displayPath(uniq[0]!.path)}`
      : `Apply failed with ${uniq.length} conflicts: ${uniq.map((c) => `conflict with "${c.manager}" using ${c.apiVersion}: ${displayPath(c.path)}`).join('\n')}`;
    throw new ApiError(409, 'Conflict', msg, { causes });
  }
  const mine = entries.find((x) => sameEntry(x.e, manager, 'Apply', sub));
  const previously = mine?.paths ?? new Set<string>();
  const result: Obj = live ? structuredClone(live) : {};
  // Fields this manager applied before and no longer applies go away unless someone else owns them.
  // Key fields of list-map elements go last: they are how the element is found.
  const isKeyField = (p: string) => {
    const segs = p.split(SEP);
    const prev = segs[segs.length - 2];
    const key = prev?.startsWith('k:') ? parseKey(prev) : undefined;
    return !!key && Object.hasOwn(key, segs[segs.length - 1]!.slice(2));
  };
  const removals = [...previously].sort((a, b) => Number(isKeyField(a)) - Number(isKeyField(b)));
  for (const p of removals) {
    if (applied.has(p)) continue;
    const ownedElsewhere = entries.some((x) => x !== mine && [...x.paths].some((q) => overlaps(q, p)));
    if (!ownedElsewhere) deleteAt(result, p);
  }
  const cfg = structuredClone(config);
  if (cfg.metadata) delete cfg.metadata.managedFields;
  deepMerge(result, cfg, schema);
  // Ownership: force takes conflicting fields away from others; equal values are shared.
  if (force)
    for (const c of conflicts) {
      const x = entries.find((e) => e.e.manager === c.manager && e.paths.has(c.path));
      if (x) {
        x.paths.delete(c.path);
        x.dirty = true;
      }
    }
  const entry: Entry = { e: baseEntry(manager, 'Apply', config.apiVersion ?? live?.apiVersion, now, sub), paths: applied, dirty: true };
  const others = entries.filter((x) => x !== mine);
  result.metadata ??= {};
  result.metadata.managedFields = store([...others, entry]);
  if (!result.metadata.managedFields) delete result.metadata.managedFields;
  return result;
}
