// Hosts whose compiled filter cannot be written: larger than the API server's request limit (etcd's
// 1.5 MiB). Owned by the HostFilter controller (it sets and clears entries); read by the Host and
// SecurityPolicy status decisions, which report FilterConverged=False / Realized=False reason TooLarge.
//
// Why report instead of splitting filters into several objects: the schema allows 1,000 rules x 100
// peers x 100 ports per direction per policy, so no object layout bounds every filter; a state the
// status names, with the host keeping (and the operator still counting on) its last written filter,
// is honest and needs no new object kind nor a second agent protocol.
import { MAX_OBJECT_BYTES } from '../api/limits';

/** The request limit the operator assumes (kube-apiserver over etcd: 1.5 MiB per object). */
export const REQUEST_LIMIT_BYTES = MAX_OBJECT_BYTES;

export interface TooLargeFilter {
  /** Hash of the compiled filter that could not be written. */
  hash: string;
  /** Its serialized size (as sent), and the limit it exceeded. */
  bytes: number;
  limit: number;
  /** The API server's message when it refused the write (undefined: refused before sending). */
  serverMessage?: string;
}

export class TooLargeFilters {
  private readonly byHost = new Map<string, TooLargeFilter>();
  private readonly listeners: Array<(host: string) => void> = [];

  /** A host entered or left the too-large state (listeners re-decide its status and its policies). */
  onChange(fn: (host: string) => void): void {
    this.listeners.push(fn);
  }

  set(host: string, t: TooLargeFilter): void {
    const prev = this.byHost.get(host);
    this.byHost.set(host, t);
    if (prev?.hash !== t.hash || prev.bytes !== t.bytes) for (const fn of this.listeners) fn(host);
  }

  clear(host: string): void {
    if (this.byHost.delete(host)) for (const fn of this.listeners) fn(host);
  }

  get(host: string): TooLargeFilter | undefined {
    return this.byHost.get(host);
  }

  hosts(): string[] {
    return [...this.byHost.keys()];
  }
}

/** Did the API server refuse a write because the object is too large (HTTP 413, or etcd's message)? */
export function isTooLarge(err: { code?: number; message?: string }): boolean {
  return err.code === 413 || /request is too large/i.test(err.message ?? '');
}

export const describeTooLarge = (t: TooLargeFilter): string =>
  `compiled filter ${t.hash} is ${t.bytes} bytes, over the ${t.limit}-byte request limit${t.serverMessage ? ` (${t.serverMessage})` : ''}`;
