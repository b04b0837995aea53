// `validateObjects`: schema and cross-object checks over loaded manifests, as a pure function.
//
// Extra linters (e.g. the policy rule lint) plug in with `registerLinter` or per call; they see the
// decoded model and return findings, usually warnings.
import type { LoadedObject } from '../manifests/load';
import { checkDuplicates } from './checks/duplicates';
import { checkAddresses, checkHosts } from './checks/network';
import { checkOwnership } from './checks/ownership';
import { checkQuota } from './checks/quota';
import { checkReferences } from './checks/references';
import { checkTenancy } from './checks/tenancy';
import { checkUnknownFields } from './checks/unknown-fields';
import { sortFindings, type Finding } from './finding';
import { buildModel, type Model } from './model';

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
  const { model, findings } = buildModel(objects, opts.providerNamespace);
  const add = (more: Finding[]) => {
    for (const f of more) findings.push(f); // not push(...more): there can be more than a call's argument slots
  };
  add(checkDuplicates(objects));
  add(checkUnknownFields(objects));
  for (const lint of [...BUILT_IN, ...registered, ...(opts.linters ?? [])]) add(lint(model));
  return sortFindings(findings);
}

export const hasErrors = (findings: readonly Finding[]) => findings.some((f) => f.severity === 'error');

/** The exit status `vmsafe validate` gives these findings: 1 when any is an error, else 0. */
export const exitCodeFor = (findings: readonly Finding[]): 0 | 1 => (hasErrors(findings) ? 1 : 0);

export { findingAt, formatFinding, sortFindings, type Finding, type Severity } from './finding';
export { buildModel, namespacesOf, type Entry, type Model } from './model';
