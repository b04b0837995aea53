// metadata.managedFields and server-side apply, the part kubectl needs: field sets per manager
// (FieldsV1, maps granular, lists atomic), ownership transfer on updates, apply merging,
// removal of fields a manager stopped applying, and conflicts (409) unless force=true.
import { ApiError } from './errors';
import type { Obj } from './store';

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
const META_OWNED = ['labels', 'annotations', 'finalizers', 'ownerReferences'];

/** Leaf paths ("f:spec\0f:tier") of the fields an object sets, for the main resource or /status. */
export function fieldPaths(obj: Obj, scope: 'main' | 'status', statusSubresource: boolean): Set<string> {
  const out = new Set<string>();
  const walk = (v: unknown, prefix: string) => {
    if (isPlainObject(v) && Object.keys(v).length > 0) {
      for (const [k, x] of Object.entries(v)) walk(x, prefix ? `${prefix}${SEP}f:${k}` : `f:${k}`);
    } else out.add(prefix);
  };
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'metadata') {
      if (scope === 'status') continue;
      for (const mk of META_OWNED) if (v?.[mk] !== undefined) walk(v[mk], `f:metadata${SEP}f:${mk}`);
      continue;
    }
    if (k === 'status' && statusSubresource) {
      if (scope === 'status') walk(v, 'f:status');
      continue;
    }
    if (scope === 'main') walk(v, `f:${k}`);
  }
  return out;
}

function valueAt(obj: unknown, path: string): unknown {
  let cur: any = obj;
  for (const seg of path.split(SEP)) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[seg.slice(2)];
  }
  return cur;
}

function deleteAt(obj: Obj, path: string) {
  const segs = path.split(SEP).map((s) => s.slice(2));
  const parents: Obj[] = [];
  let cur: any = obj;
  for (const s of segs.slice(0, -1)) {
    if (!isPlainObject(cur[s])) return;
    parents.push(cur);
    cur = cur[s];
  }
  delete cur[segs[segs.length - 1]!];
  // Drop maps the removal left empty (not metadata itself).
  for (let i = segs.length - 2; i >= 1; i--) {
    const parent = parents[i]!;
    const key = segs[i]!;
    if (isPlainObject(parent[key]) && Object.keys(parent[key]).length === 0) delete parent[key];
    else break;
  }
}

const sameValue = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Does p lie on the same branch as q (equal, or one a prefix of the other)? */
const overlaps = (p: string, q: string) => p === q || p.startsWith(q + SEP) || q.startsWith(p + SEP);

export function toFieldsV1(paths: Set<string>): Obj {
  const root: Obj = {};
  for (const p of paths) {
    let cur = root;
    for (const seg of p.split(SEP)) cur = cur[seg] ??= {};
  }
  return root;
}

export function fromFieldsV1(tree: Obj | undefined): Set<string> {
  const out = new Set<string>();
  const walk = (node: Obj, prefix: string) => {
    const keys = Object.keys(node).filter((k) => k !== '.');
    if (keys.length === 0 || node['.'] !== undefined) if (prefix) out.add(prefix);
    for (const k of keys) walk(node[k], prefix ? `${prefix}${SEP}${k}` : k);
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
  if (!Array.isArray(managed)) return [];
  return managed
    .filter((m): m is ManagedFieldsEntry => isPlainObject(m) && typeof m.manager === 'string')
    .map((e) => ({ e, paths: fromFieldsV1(e.fieldsV1) }));
}

function store(entries: Entry[]): ManagedFieldsEntry[] | undefined {
  const out = entries
    .filter((x) => x.paths.size > 0)
    .map((x) => (x.dirty ? { ...x.e, fieldsV1: toFieldsV1(x.paths) } : x.e));
  return out.length ? out : undefined;
}

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
): ManagedFieldsEntry[] | undefined {
  const entries = load(oldObj?.metadata?.managedFields);
  const newPaths = fieldPaths(newObj, scope, statusSubresource);
  const oldPaths = oldObj ? fieldPaths(oldObj, scope, statusSubresource) : new Set<string>();
  const changed = [...newPaths].filter((p) => !oldPaths.has(p) || !sameValue(valueAt(oldObj, p), valueAt(newObj, p)));
  const removed = [...oldPaths].filter((p) => !newPaths.has(p));
  if (changed.length === 0 && removed.length === 0) return oldObj?.metadata?.managedFields;
  const sub = scope === 'status' ? 'status' : undefined;
  for (const x of entries) {
    for (const p of [...x.paths]) {
      if (removed.some((r) => overlaps(r, p)) && !newPaths.has(p)) {
        x.paths.delete(p);
        x.dirty = true;
      } else if (changed.some((c) => overlaps(c, p)) && !sameEntry(x.e, manager, 'Update', sub)) {
        x.paths.delete(p);
        x.dirty = true;
      }
    }
  }
  let mine = entries.find((x) => sameEntry(x.e, manager, 'Update', sub));
  if (!mine) {
    mine = { e: baseEntry(manager, 'Update', newObj.apiVersion, now, sub), paths: new Set() };
    entries.push(mine);
  }
  mine.e = { ...mine.e, time: now, apiVersion: newObj.apiVersion };
  let pathsChanged = false;
  for (const p of [...mine.paths])
    if (changed.some((c) => overlaps(c, p) && c !== p)) {
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

function baseEntry(manager: string, operation: 'Apply' | 'Update', apiVersion: string, time: string, subresource?: string): ManagedFieldsEntry {
  const e: ManagedFieldsEntry = { manager, operation, apiVersion, time, fieldsType: 'FieldsV1', fieldsV1: {} };
  if (subresource) e.subresource = subresource;
  return e;
}

function deepMerge(target: Obj, src: Obj) {
  for (const [k, v] of Object.entries(src)) {
    if (isPlainObject(v) && isPlainObject(target[k])) deepMerge(target[k], v);
    else target[k] = structuredClone(v);
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
): Obj {
  const entries = load(live?.metadata?.managedFields);
  const sub = scope === 'status' ? 'status' : undefined;
  const applied = fieldPaths(config, scope, statusSubresource);
  const conflicts: { manager: string; apiVersion: string; path: string }[] = [];
  for (const x of entries) {
    if (sameEntry(x.e, manager, 'Apply', sub)) continue;
    for (const p of x.paths) {
      for (const a of applied) {
        if (!overlaps(a, p)) continue;
        if (sameValue(valueAt(live, a), valueAt(config, a))) continue;
        conflicts.push({ manager: x.e.manager, apiVersion: x.e.apiVersion, path: a });
      }
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
  for (const p of previously) {
    if ([...applied].some((a) => overlaps(a, p))) continue;
    const ownedElsewhere = entries.some((x) => x !== mine && [...x.paths].some((q) => overlaps(q, p)));
    if (!ownedElsewhere) deleteAt(result, p);
  }
  const cfg = structuredClone(config);
  if (cfg.metadata) delete cfg.metadata.managedFields;
  deepMerge(result, cfg);
  // Ownership: force takes fields away from others; equal values are shared.
  for (const x of entries) {
    if (x === mine) continue;
    for (const p of [...x.paths])
      if (force && [...applied].some((a) => overlaps(a, p)) && conflicts.some((c) => c.path === p || overlaps(c.path, p))) {
        x.paths.delete(p);
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
