// A finding: one problem in one field of one object, located by file and line.
import { formatPath } from '../api/decode';
import { lineOf, type FieldPath, type LoadedObject } from '../manifests/load';

export type Severity = 'error' | 'warning';

export interface Finding {
  severity: Severity;
  file: string;
  line: number;
  /** Object kind as written (`VM`, `Namespace`, ...); empty when the document has none. */
  kind: string;
  namespace?: string;
  name: string;
  /** Dotted field path with indexes, e.g. `spec.vnics[0].ip`; empty for the whole object. */
  path: string;
  message: string;
}

interface ObjectIdentity {
  kind: string;
  namespace?: string;
  name: string;
}

/** kind, namespace and name as written in a raw object, with placeholders when missing. */
export function identityOf(object: unknown): ObjectIdentity {
  const o = (typeof object === 'object' && object !== null ? object : {}) as {
    kind?: unknown;
    metadata?: { name?: unknown; namespace?: unknown };
  };
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const namespace = str(o.metadata?.namespace);
  return { kind: str(o.kind) ?? '<no kind>', ...(namespace ? { namespace } : {}), name: str(o.metadata?.name) ?? '<no name>' };
}

/** A finding about the field at `path` of a loaded object; the line comes from the source. */
export function findingAt(
  src: LoadedObject,
  path: FieldPath,
  message: string,
  severity: Severity = 'error',
): Finding {
  return { severity, file: src.file, line: lineOf(src, path), ...identityOf(src.object), path: formatPath(path), message };
}

/** `FILE:LINE KIND NS/NAME FIELD.PATH: message` (cluster-scoped objects: just NAME). */
export function formatFinding(f: Finding): string {
  const who = f.namespace ? `${f.namespace}/${f.name}` : f.name;
  const what = f.severity === 'warning' ? `warning: ${f.message}` : f.message;
  return `${f.file}:${f.line} ${f.kind} ${who}${f.path ? ` ${f.path}` : ''}: ${what}`;
}

/** By file, then line; findings on the same line keep their order. */
export function sortFindings(findings: Finding[]): Finding[] {
  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => (a.f.file < b.f.file ? -1 : a.f.file > b.f.file ? 1 : a.f.line - b.f.line || a.i - b.i))
    .map(({ f }) => f);
}
