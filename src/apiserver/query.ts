// Query parameters as kube-apiserver parses them: booleans with Go's strconv.ParseBool (the official
// Python client sends `watch=True`), integers that must be integers, resourceVersion and
// resourceVersionMatch for lists, fieldValidation. A bad value is a 400 naming the parameter.
import { badRequest, invalid } from './errors';

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Whether a query value reads as true to queryBool (the authorizer must read `watch` as the router does). */
export const isTrueValue = (v: string | null): boolean => v !== null && TRUE.has(v);

/** Go's strconv.ParseBool; absent -> undefined; anything else -> 400. */
export function queryBool(q: URLSearchParams, name: string): boolean | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw badRequest(`${name}: invalid value "${v}": strconv.ParseBool: parsing "${v}": invalid syntax`);
}

function queryInt(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(Number(v)))
    throw badRequest(`${name}: invalid value "${v}": strconv.ParseInt: parsing "${v}": invalid syntax`);
  return Number(v);
}

export interface ListQuery {
  limit: number;
  resourceVersion?: string;
  timeoutSeconds?: number;
}

const RV_MATCH = ['NotOlderThan', 'Exact'];

/** limit, resourceVersion, resourceVersionMatch and timeoutSeconds of a list or watch. */
export function listQuery(q: URLSearchParams, watch: boolean): ListQuery {
  const limit = queryInt(q, 'limit') ?? 0;
  const timeoutSeconds = queryInt(q, 'timeoutSeconds');
  if (timeoutSeconds !== undefined && timeoutSeconds < 0)
    throw badRequest(`timeoutSeconds: Invalid value: ${timeoutSeconds}: must be greater than or equal to 0`);
  const rv = q.get('resourceVersion') ?? undefined;
  if (rv !== undefined && rv !== '' && !/^\d+$/.test(rv)) throw badRequest(`resourceVersion: Invalid value: "${rv}": must be an unsigned integer`);
  const match = q.get('resourceVersionMatch');
  if (watch) validateWatchList(q, match);
  else if (match !== null && match !== '') {
    if (!RV_MATCH.includes(match))
      throw badRequest(`resourceVersionMatch: Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`);
    if (!rv) throw badRequest('resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided');
    if (match === 'Exact' && rv === '0') throw badRequest('resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
  }
  return { limit: Math.max(0, limit), resourceVersion: rv || undefined, timeoutSeconds };
}

/**
 * A watch's sendInitialEvents / resourceVersionMatch / allowWatchBookmarks, as kube's
 * validateWatchOptions (WatchList enabled): client-go's watch-list sends all three.
 */
function validateWatchList(q: URLSearchParams, match: string | null) {
  const initial = queryBool(q, 'sendInitialEvents');
  const bookmarks = queryBool(q, 'allowWatchBookmarks');
  if (initial !== undefined && match !== 'NotOlderThan')
    throw badRequest('resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan');
  if (match === null || match === '') return;
  if (initial === undefined) throw badRequest('resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided');
  if (match !== 'NotOlderThan') throw badRequest(`resourceVersionMatch: Unsupported value: "${match}": supported values: "NotOlderThan"`);
  if (bookmarks !== true) throw badRequest('allowWatchBookmarks: Forbidden: allowWatchBookmarks required when sendInitialEvents is provided');
}

/** fieldValidation: Strict | Warn | Ignore (default Warn, as kube since 1.27). */
export function fieldValidation(q: URLSearchParams): 'Strict' | 'Warn' | 'Ignore' {
  const v = q.get('fieldValidation');
  if (v === null || v === '') return 'Warn';
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw badRequest(`fieldValidation: Unsupported value: "${v}": supported values: "Ignore", "Strict", "Warn"`);
}

/**
 * dryRun: only `All` (kube's ValidateDryRun, 422 on the request's options kind). Any other value was
 * taken for "not a dry run", so a client's `dryRun=all` wrote for real.
 */
export function dryRun(values: string[], optionsKind: 'CreateOptions' | 'UpdateOptions' | 'PatchOptions' | 'DeleteOptions'): boolean {
  if (values.some((v) => v !== 'All'))
    throw invalid('meta.k8s.io', optionsKind, '', [{ reason: 'FieldValueNotSupported', field: 'dryRun', message: `Unsupported value: []string{${values.map((v) => JSON.stringify(v)).join(', ')}}: supported values: "All"` }]);
  return values.length > 0;
}
