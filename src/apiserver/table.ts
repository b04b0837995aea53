// meta.k8s.io/v1 Table output: column definitions per resource and a row per object,
// for CRDs from additionalPrinterColumns (JSONPath), for built-ins from fixed printers.
import { compileJsonPath } from './jsonpath';
import type { Obj } from './store';

export interface TableColumn {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
  cell: (obj: Obj, now: number) => unknown;
}

/** k8s.io/apimachinery/pkg/util/duration.HumanDuration */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    const y = Math.floor(hours / 24 / 365);
    return dy === 0 ? `${y}y` : `${y}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

export const age = (ts: unknown, now: number): string => {
  if (typeof ts !== 'string') return '<unknown>';
  const t = Date.parse(ts);
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
};

export const nameColumn: TableColumn = {
  name: 'Name', type: 'string', format: 'name', priority: 0,
  description: 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  cell: (o) => o.metadata?.name,
};

export const ageColumn: TableColumn = {
  name: 'Age', type: 'date', format: '', priority: 0,
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
  cell: (o, now) => age(o.metadata?.creationTimestamp, now),
};

export interface PrinterColumnSpec {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

/** Columns of a CRD version, as the apiextensions table convertor builds them. */
export function crdColumns(specs: PrinterColumnSpec[] | undefined): TableColumn[] {
  if (!specs || specs.length === 0) return [nameColumn, ageColumn];
  return [
    nameColumn,
    ...specs.map((c): TableColumn => {
      let eval_: (o: Obj) => unknown[];
      try {
        eval_ = compileJsonPath(c.jsonPath);
      } catch {
        eval_ = () => [];
      }
      return {
        name: c.name,
        type: c.type,
        format: c.format ?? '',
        description: c.description ?? '',
        priority: c.priority ?? 0,
        cell: (o, now) => {
          const values = eval_(o);
          if (values.length === 0) return null;
          const v = values.length === 1 ? values[0] : values;
          if (c.type === 'date') return typeof v === 'string' ? age(v, now) : null;
          if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(',');
          if (v !== null && typeof v === 'object') return JSON.stringify(v);
          return v;
        },
      };
    }),
  ];
}

export function partialMetadata(obj: Obj): Obj {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

export function columnDefinitions(cols: TableColumn[]) {
  return cols.map(({ name, type, format, description, priority }) => ({ name, type, format, description, priority }));
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function tableRow(cols: TableColumn[], obj: Obj, include: IncludeObject, now: number) {
  const row: Obj = { cells: cols.map((c) => c.cell(obj, now) ?? null) };
  if (include === 'Object') row.object = obj;
  else if (include === 'Metadata') row.object = partialMetadata(obj);
  return row;
}

export function table(cols: TableColumn[], objs: Obj[], include: IncludeObject, meta: Obj, now = Date.now()): Obj {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: meta,
    columnDefinitions: columnDefinitions(cols),
    rows: objs.map((o) => tableRow(cols, o, include, now)),
  };
}

/** A column from a function of the object (built-in printers). */
export function col(name: string, type: string, cell: TableColumn['cell'], priority = 0, description = ''): TableColumn {
  return { name, type, format: '', description, priority, cell };
}
