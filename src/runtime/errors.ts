// API errors from client-node mapped to one small typed error, plus the reconcile outcome errors.
import { ApiException } from '@kubernetes/client-node';

/** A failed API call: HTTP code, Kubernetes Status reason (NotFound, Conflict, Gone...) and message. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const REASON_BY_CODE: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Gone',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

function parseStatus(body: unknown): { reason?: string; message?: string } {
  let b = body;
  if (typeof b === 'string') {
    try {
      b = JSON.parse(b);
    } catch {
      return b ? { message: b as string } : {};
    }
  }
  if (b && typeof b === 'object') {
    const s = b as { reason?: unknown; message?: unknown };
    return {
      reason: typeof s.reason === 'string' && s.reason ? s.reason : undefined,
      message: typeof s.message === 'string' ? s.message : undefined,
    };
  }
  return {};
}

/** The ApiError for a non-2xx answer, from its body (a Kubernetes Status, as text or parsed). */
export function statusError(code: number, body: unknown): ApiError {
  const st = parseStatus(body);
  const reason = st.reason ?? REASON_BY_CODE[code] ?? (code >= 500 ? 'InternalError' : 'Unknown');
  return new ApiError(code, reason, st.message ?? `HTTP ${code}`);
}

/** Map anything a client-node call can throw to an ApiError (code 0 = no HTTP response: network error). */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ApiException) return statusError(err.code, err.body);
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown } | undefined;
  if (e && typeof e.statusCode === 'number') {
    return new ApiError(e.statusCode, REASON_BY_CODE[e.statusCode] ?? 'Unknown', String(e.message ?? ''));
  }
  const message = e && typeof e.message === 'string' ? e.message : String(err);
  const netCode = e && typeof e.code === 'string' ? e.code : 'NetworkError';
  return new ApiError(0, netCode, message);
}

export const isNotFound = (err: unknown) => toApiError(err).code === 404;
export const isConflict = (err: unknown) => toApiError(err).code === 409;
export const isAlreadyExists = (err: unknown) => {
  const e = toApiError(err);
  return e.code === 409 && e.reason === 'AlreadyExists';
};
export const isGone = (err: unknown) => toApiError(err).code === 410;

/**
 * Thrown by a reconciler when retrying cannot help (the spec can never work): the key is not requeued
 * with backoff. Surface the cause in a condition too; this only stops the retry loop.
 */
export class TerminalError extends Error {
  constructor(
    message: string,
    readonly reason = 'TerminalError',
  ) {
    super(message);
    this.name = 'TerminalError';
  }
}
