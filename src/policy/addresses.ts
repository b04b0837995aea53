// Address-group members: exact sets of IPv4 addresses, written as the fewest aligned CIDR blocks
// (a tenant's consecutively allocated vNICs collapse to a handful of entries), plus content hashes.
import { hash } from 'node:crypto';
import { formatIPv4 } from '../dataplane/ip';
import { flatJoin } from '../util/flat-string';

/** Short content hash (hex, an even number of characters) used for program and group ids and for filter hashes. */
export function contentHash(text: string, hexChars = 16): string {
  // SHA-256, not a fast non-cryptographic hash: ids dedup programs across tenants on a host, so a
  // tenant must not be able to craft a collision with another tenant's program. Hex of the first
  // bytes rather than a slice of the whole hex: a slice of 13+ characters is a view that keeps the
  // 64-character text alive (112 bytes a hash, 40 flat), and 100,000s of ids are kept.
  return hash('sha256', text, 'buffer').toString('hex', 0, hexChars >> 1);
}

/** `prefix` + contentHash, one flat string (see flatJoin): an id kept as long as what it names. */
export const contentId = (prefix: string, text: string, hexChars = 16): string => flatJoin(prefix, contentHash(text, hexChars));

/** Sort and deduplicate addresses (unsigned 32-bit numbers). */
export function sortedUnique(values: ArrayLike<number>): Uint32Array {
  const arr = Uint32Array.from(values).sort();
  let n = 0;
  for (let i = 0; i < arr.length; i++) if (i === 0 || arr[i] !== arr[n - 1]) arr[n++] = arr[i]!;
  return arr.subarray(0, n);
}

/**
 * The exact set as aligned CIDR blocks in address order; a single address is written bare.
 * Covers precisely the members: a block is used only when every address in it is a member.
 */
export function toCidrs(sorted: ArrayLike<number>): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    // One run of consecutive addresses [lo, hi].
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    let lo = sorted[i]!;
    const hi = sorted[j]!;
    while (lo <= hi) {
      let size = 1;
      while (size < 2 ** 32 && lo % (size * 2) === 0 && lo + size * 2 - 1 <= hi) size *= 2;
      const len = 32 - Math.log2(size);
      out.push(len === 32 ? formatIPv4(lo) : flatJoin(formatIPv4(lo), '/', String(len)));
      lo += size;
    }
    i = j + 1;
  }
  // Exact size: groups are kept for long and most have one or two entries (push leaves spare room).
  return out.slice();
}
