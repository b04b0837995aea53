// Loading a datacenter into the API server: namespaces first, then what VMs depend on, VMs last,
// with bounded concurrency (like `kubectl apply` from many clients, without its per-object cost).
import { kindResource, NAMESPACES, resourcePath, type ResourceInfo } from '../../src/runtime/client';
import { call, must, pool, type Conn } from './http';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

/** The order objects are created in (other kinds after these, in input order). */
export const LOAD_ORDER = ['Namespace', 'Tag', 'Tenant', 'Host', 'SecurityPolicy', 'VM'];

const infoOf = (kind: string): ResourceInfo => (kind === 'Namespace' ? NAMESPACES : kindResource(kind));

export function collectionPath(kind: string, namespace?: string): string {
  const info = infoOf(kind);
  return resourcePath(info, info.namespaced ? namespace : undefined);
}

export function objectPath(kind: string, name: string, namespace?: string): string {
  const info = infoOf(kind);
  return resourcePath(info, info.namespaced ? namespace : undefined, name);
}

export interface LoadReport {
  objects: number;
  seconds: number;
  perSecond: number;
  byKind: Record<string, number>;
}

/**
 * Creates every object (kinds in LOAD_ORDER, each kind finished before the next starts). Objects
 * that exist already are left alone (409). `onKindDone` runs after each kind.
 */
export async function loadObjects(conn: Conn, objects: readonly Manifest[], opts: { concurrency?: number; onKindDone?: (kind: string, n: number) => void } = {}): Promise<LoadReport> {
  const byKind = new Map<string, Manifest[]>();
  for (const o of objects) {
    let list = byKind.get(o.kind);
    if (!list) byKind.set(o.kind, (list = []));
    list.push(o);
  }
  const kinds = [...LOAD_ORDER.filter((k) => byKind.has(k)), ...[...byKind.keys()].filter((k) => !LOAD_ORDER.includes(k))];
  const t0 = performance.now();
  const counts: Record<string, number> = {};
  for (const kind of kinds) {
    const list = byKind.get(kind)!;
    await pool(list.length, opts.concurrency ?? 32, async (i) => {
      const o = list[i]!;
      await must(conn, 'POST', collectionPath(kind, o.metadata.namespace), o, { exists: true });
    });
    counts[kind] = list.length;
    opts.onKindDone?.(kind, list.length);
  }
  const seconds = (performance.now() - t0) / 1000;
  return { objects: objects.length, seconds: Math.round(seconds * 100) / 100, perSecond: Math.round(objects.length / seconds), byKind: counts };
}

/** Per-resource write counters of the embedded API server ("vmsafe.io/vms" → creates/updates/deletes). */
export type WriteCounts = Record<string, { creates: number; updates: number; deletes: number }>;

export async function writeCounts(conn: Conn): Promise<WriteCounts> {
  const r = await call(conn, 'GET', '/debug/vmsafe/writes');
  if (r.status !== 200) throw new Error(`GET /debug/vmsafe/writes: HTTP ${r.status}`);
  return JSON.parse(r.text) as WriteCounts;
}

/** Writes between two snapshots, by resource, zero rows dropped; plus the total. */
export function writesBetween(before: WriteCounts, after: WriteCounts): { byResource: WriteCounts; total: number } {
  const out: WriteCounts = {};
  let total = 0;
  for (const [k, a] of Object.entries(after)) {
    const b = before[k] ?? { creates: 0, updates: 0, deletes: 0 };
    const d = { creates: a.creates - b.creates, updates: a.updates - b.updates, deletes: a.deletes - b.deletes };
    const n = d.creates + d.updates + d.deletes;
    if (n === 0) continue;
    out[k] = d;
    total += n;
  }
  return { byResource: out, total };
}

/** Stored writes and their bytes per field manager ("vmsafe-operator", "vmsafe-agent", ...). */
export type ManagerWrites = Record<string, { writes: number; bytes: number }>;

export async function managerWrites(conn: Conn): Promise<ManagerWrites> {
  const r = await call(conn, 'GET', '/debug/vmsafe/writes?by=manager');
  if (r.status !== 200) throw new Error(`GET /debug/vmsafe/writes?by=manager: HTTP ${r.status}`);
  return JSON.parse(r.text) as ManagerWrites;
}

/** Writes of one manager between two snapshots. */
export function managerWritesBetween(before: ManagerWrites, after: ManagerWrites, manager: string): { writes: number; bytes: number } {
  const a = after[manager] ?? { writes: 0, bytes: 0 };
  const b = before[manager] ?? { writes: 0, bytes: 0 };
  return { writes: a.writes - b.writes, bytes: a.bytes - b.bytes };
}
