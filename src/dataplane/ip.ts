// IPv4 helpers: addresses as unsigned 32-bit numbers, CIDRs as inclusive [lo, hi] ranges.

/** Parse dotted IPv4 ("10.0.0.1") to an unsigned 32-bit number; throws on anything else. */
export function parseIPv4(s: string): number {
  // Hand-rolled (no split/regex): classifiers parse every address of every group at build time.
  let v = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) throw new Error(`"${s}" is not an IPv4 address`);
    } else if (c === 46 && digits > 0 && dots < 3) {
      v = v * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else throw new Error(`"${s}" is not an IPv4 address`);
  }
  if (dots !== 3 || digits === 0) throw new Error(`"${s}" is not an IPv4 address`);
  return v * 256 + part;
}

/** Format an unsigned 32-bit number as dotted IPv4. */
export function formatIPv4(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** Inclusive range of a prefix length at address `base` (host bits are ignored). */
export function prefixRange(base: number, len: number): [number, number] {
  if (!Number.isInteger(len) || len < 0 || len > 32) throw new Error(`bad prefix length ${len}`);
  const size = 2 ** (32 - len);
  const lo = base - (base % size);
  return [lo, lo + size - 1];
}

/**
 * Parse "a.b.c.d/len" to its inclusive range [lo, hi]. A bare address means /32, so address-group
 * members (addresses or CIDRs) go through the same function. Host bits set below the prefix are ignored
 * ("10.0.0.5/24" is 10.0.0.0-10.0.0.255), as Kubernetes NetworkPolicy ipBlock does.
 */
export function parseCidr(s: string): [number, number] {
  const slash = s.indexOf('/');
  if (slash < 0) {
    const v = parseIPv4(s);
    return [v, v];
  }
  const lenText = s.slice(slash + 1);
  if (!/^\d{1,2}$/.test(lenText)) throw new Error(`"${s}" is not an IPv4 CIDR`);
  return prefixRange(parseIPv4(s.slice(0, slash)), Number(lenText));
}

/** True when v lies in the inclusive range. */
export const inRange = (v: number, r: readonly [number, number]): boolean => v >= r[0] && v <= r[1];
