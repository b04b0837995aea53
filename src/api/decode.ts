// One entry point from unknown JSON to a typed object, or a list of errors naming each field path.
import { z } from 'zod';
import { KIND_BY_NAME } from './registry';
import { API_VERSION } from './common';

export interface FieldError {
  /** Dotted path with indexes, e.g. `spec.vnics[0].ip`; empty for the whole object. */
  path: string;
  message: string;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

/** Human message for a zod issue: our schemas set most messages; fill in the generic ones. */
function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined)
    return 'required field is missing';
  if (issue.code === 'unrecognized_keys') return `unknown field(s): ${issue.keys.join(', ')}`;
  return issue.message;
}

/**
 * Each schema with zod's ahead-of-time compiled fast path (z.compile): a valid object is parsed by
 * generated code, 2-3 x faster than zod's runtime parser (an operator restart parses 160,000
 * objects); an invalid one falls back to the runtime parser, so errors are the runtime's. A schema
 * the compiler cannot model comes back unchanged.
 */
const compiled = new WeakMap<z.ZodType, z.ZodType>();
function compiledSchema<T>(schema: z.ZodType<T>): z.ZodType<T> {
  let c = compiled.get(schema);
  if (c === undefined) compiled.set(schema, (c = z.compile(schema)));
  return c as z.ZodType<T>;
}

export function decodeWith<T>(schema: z.ZodType<T>, input: unknown): Decoded<T> {
  return decoded(compiledSchema(schema).safeParse(input));
}

/** zod's runtime parser alone: the reference that decodeWith's compiled path is held to (tests). */
export function decodeWithRuntime<T>(schema: z.ZodType<T>, input: unknown): Decoded<T> {
  return decoded(schema.safeParse(input));
}

function decoded<T>(r: z.ZodSafeParseResult<T>): Decoded<T> {
  if (r.success) return { ok: true, value: r.data };
  const errors = r.error.issues.map((i) => ({ path: formatPath(i.path), message: issueMessage(i) }));
  errors.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { ok: false, errors };
}

/** Decode an object of any vmsafe.io kind, chosen by its `kind` field. */
export function decode(input: unknown): Decoded<any> {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return { ok: false, errors: [{ path: '', message: 'an object is expected' }] };
  const obj = input as { apiVersion?: unknown; kind?: unknown };
  if (obj.apiVersion !== API_VERSION)
    return { ok: false, errors: [{ path: 'apiVersion', message: `expected ${API_VERSION}, got ${JSON.stringify(obj.apiVersion)}` }] };
  const info = typeof obj.kind === 'string' ? KIND_BY_NAME.get(obj.kind) : undefined;
  if (!info) return { ok: false, errors: [{ path: 'kind', message: `unknown kind ${JSON.stringify(obj.kind)}` }] };
  return decodeWith(info.schema, input);
}
