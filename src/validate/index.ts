// `validateObjects`: schema and cross-object checks over loaded manifests, as a pure function.
//
// Extra linters (e.g. the policy rule lint) plug in with `registerLinter` or per call; they see the
// decoded model and return findings, usually warnings.
import { withObject, type LoadedObject } from '../manifests/load';
import { DuplicateCheck } from './checks/duplicates';
import { checkAddresses, checkHosts } from './checks/network';
import { checkOwnership } from './checks/ownership';
import { checkQuota } from './checks/quota';
import { checkReferences } from './checks/references';
import { checkTenancy } from './checks/tenancy';
import { unknownFieldsOf } from './checks/unknown-fields';
import { sortFindings, type Finding } from './finding';
import { addToModel, emptyModel, finishModel, type Model } from './model';

export type Linter = (model: Model) => Finding[];

const BUILT_IN: readonly Linter[] = [checkReferences, checkTenancy, checkAddresses, checkOwnership, checkHosts, checkQuota];
const registered: Linter[] = [];

/** Add a linter that every later `validateObjects` call runs; returns a function that removes it. */
export function registerLinter(linter: Linter): () => void {
  if (!registered.includes(linter)) registered.push(linter);
  return () => {
    const i = registered.indexOf(linter);
    if (i >= 0) registered.splice(i, 1);
  };
}

export interface ValidateOptions {
  /** Linters for this call only, run after the built-in and registered ones. */
  linters?: readonly Linter[];
  /** Namespace of Provider and Baseline policies (default vmsafe-system). */
  providerNamespace?: string;
}

/** All findings for a set of manifests, sorted by file and line. */
export function validateObjects(objects: readonly LoadedObject[], opts: ValidateOptions = {}): Finding[] {
  const v = new Validation(opts);
  for (const o of objects) v.add(o);
  return v.finish();
}

/**
 * `validateObjects` one object at a time: the per-object checks run in `add`, and the model keeps only
 * decoded values and stand-ins that know where each object came from, so the parsed objects can go.
 * Findings come out in the same order as `validateObjects` gives them.
 */
export class Validation {
  private readonly model: Model;
  private readonly schema: Finding[] = [];
  private readonly duplicates: Finding[] = [];
  private readonly unknown: Finding[] = [];
  private readonly dup = new DuplicateCheck();

  constructor(private readonly opts: ValidateOptions = {}) {
    this.model = emptyModel(opts.providerNamespace);
  }

  add(src: LoadedObject): void {
    addToModel(this.model, src, this.schema, () => withObject(src, standIn(src.object)));
    const d = this.dup.add(src);
    if (d) this.duplicates.push(d);
    unknownFieldsOf(src, this.unknown);
  }

  finish(): Finding[] {
    finishModel(this.model);
    const findings: Finding[] = [];
    const add = (more: Finding[]) => {
      for (const f of more) findings.push(f); // not push(...more): there can be more than a call's argument slots
    };
    add(this.schema);
    add(this.duplicates);
    add(this.unknown);
    for (const lint of [...BUILT_IN, ...registered, ...(this.opts.linters ?? [])]) add(lint(this.model));
    return sortFindings(findings);
  }
}

/** What findings need of an object once it is checked: kind, namespace and name as written. */
function standIn(o: unknown): unknown {
  const { kind, metadata } = o as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
  return typeof metadata === 'object' && metadata !== null ? { kind, metadata: { name: metadata.name, namespace: metadata.namespace } } : { kind };
}

export const hasErrors = (findings: readonly Finding[]) => findings.some((f) => f.severity === 'error');

/** The exit status `vmsafe validate` gives these findings: 1 when any is an error, else 0. */
export const exitCodeFor = (findings: readonly Finding[]): 0 | 1 => (hasErrors(findings) ? 1 : 0);

export { findingAt, formatFinding, sortFindings, type Finding, type Severity } from './finding';
export { buildModel, namespacesOf, type Entry, type Model } from './model';
