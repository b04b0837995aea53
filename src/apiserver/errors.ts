// metav1.Status errors: every failure the server returns is one of these, with kube-apiserver's
// code, reason and message wording (kubectl formats its output from them).
export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  toStatus(): object {
    return status(this.code, this.reason, this.message, this.details);
  }
}

export function status(code: number, reason: string, message: string, details?: StatusDetails): object {
  const s: Record<string, unknown> = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: code >= 200 && code < 300 ? 'Success' : 'Failure',
    message,
    reason,
    code,
  };
  if (details) s.details = details;
  if (!reason) delete s.reason;
  if (!message) delete s.message;
  return s;
}

/** "vms.vmsafe.io" / "namespaces": the group-resource as kube-apiserver prints it. */
export interface GroupResource {
  group: string;
  resource: string;
}
export const qualified = (gr: GroupResource) => (gr.group ? `${gr.resource}.${gr.group}` : gr.resource);

export const notFound = (gr: GroupResource, name: string) =>
  new ApiError(404, 'NotFound', `${qualified(gr)} "${name}" not found`, { name, group: gr.group || undefined, kind: gr.resource });

export const alreadyExists = (gr: GroupResource, name: string) =>
  new ApiError(409, 'AlreadyExists', `${qualified(gr)} "${name}" already exists`, { name, group: gr.group || undefined, kind: gr.resource });

export const conflict = (gr: GroupResource, name: string, why: string) =>
  new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(gr)} "${name}": ${why}`, {
    name, group: gr.group || undefined, kind: gr.resource,
  });

export const STALE = 'the object has been modified; please apply your changes to the latest version and try again';

/** 422 Invalid: `Kind.group "name" is invalid: [field: msg, ...]` with one cause per field. */
export function invalid(group: string, kind: string, name: string, causes: StatusCause[]): ApiError {
  const gk = group ? `${kind}.${group}` : kind;
  const parts = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const joined = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${gk} "${name}" is invalid: ${joined}`, {
    name, group: group || undefined, kind, causes,
  });
}

/** A JSON value's type as Go's decoder names it in its errors. */
export const goType = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v === 'boolean' ? 'bool' : typeof v;

/** Go's decoding error for a struct field (`where`: "Struct.json.path") of the wrong JSON type. */
export const cannotUnmarshal = (v: unknown, where: string, type: string): string => `json: cannot unmarshal ${goType(v)} into Go struct field ${where} of type ${type}`;

export const badRequest = (message: string) => new ApiError(400, 'BadRequest', message);
export const forbidden = (message: string) => new ApiError(403, 'Forbidden', message);
export const unauthorized = () => new ApiError(401, 'Unauthorized', 'Unauthorized');
export const methodNotAllowed = (message = 'the server does not allow this method on the requested resource') =>
  new ApiError(405, 'MethodNotAllowed', message);
export const gone = (message: string) => new ApiError(410, 'Expired', message);
export const tooLarge = (message: string) => new ApiError(413, 'RequestEntityTooLarge', message);
export const unsupportedMediaType = (message: string) => new ApiError(415, 'UnsupportedMediaType', message);
export const notAcceptable = (message: string) => new ApiError(406, 'NotAcceptable', message);
export const pathNotFound = () => new ApiError(404, 'NotFound', 'the server could not find the requested resource');
export const internal = (message: string) => new ApiError(500, 'InternalError', `Internal error occurred: ${message}`);
