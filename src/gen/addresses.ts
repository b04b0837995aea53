// Address plans that never collide: one aligned block of IPv4 addresses per tenant, one MAC per vNIC.

/** Private and shared ranges used in order; a datacenter larger than all of them is refused. */
export const TENANT_RANGES = ['10.0.0.0/8', '100.64.0.0/10', '172.16.0.0/12', '192.168.0.0/16'] as const;

const parseCidr = (c: string) => {
  const [ip, len] = c.split('/') as [string, string];
  const n = ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  return { start: n, size: 2 ** (32 - Number(len)) };
};

const DEC = Array.from({ length: 256 }, (_, i) => [...String(i)].map((c) => c.charCodeAt(0)));
const DOT = '.'.charCodeAt(0);
const COLON = ':'.charCodeAt(0);
const codes: number[] = [];

/**
 * Dotted quad as a flat string. Concatenation would build a rope of several heap objects per address;
 * at 1.6 million vNICs that is most of the generator's memory and GC time.
 */
export function ipToString(n: number): string {
  codes.length = 0;
  for (let shift = 24; shift >= 0; shift -= 8) {
    if (shift !== 24) codes.push(DOT);
    for (const c of DEC[(n >>> shift) & 255]!) codes.push(c);
  }
  return String.fromCharCode.apply(null, codes);
}

/** A tenant's block: its CIDR and a cursor over its usable addresses. */
export interface TenantBlock {
  cidr: string;
  /** Next address (skips the network address). */
  next(): string;
}

/**
 * Hands out aligned power-of-two blocks (at least /28) from TENANT_RANGES, big enough for a tenant's
 * vNICs plus the network and broadcast addresses. Blocks never overlap, so IPs never collide.
 */
export class IpPlanner {
  private range = 0;
  private cursor: number;
  constructor(private readonly ranges: readonly string[] = TENANT_RANGES) {
    this.cursor = parseCidr(ranges[0]!).start;
  }

  block(addresses: number): TenantBlock {
    let size = 16;
    while (size < addresses + 2) size *= 2;
    for (;;) {
      const r = parseCidr(this.ranges[this.range]!);
      const start = Math.ceil(this.cursor / size) * size;
      if (start + size <= r.start + r.size) {
        this.cursor = start + size;
        let n = start + 1;
        const last = start + size - 2;
        return {
          cidr: `${ipToString(start)}/${32 - Math.log2(size)}`,
          next: () => {
            if (n > last) throw new Error(`address block ${ipToString(start)} exhausted`);
            return ipToString(n++);
          },
        };
      }
      this.range++;
      if (this.range >= this.ranges.length) throw new Error(`no address space left in ${this.ranges.join(', ')}`);
      this.cursor = parseCidr(this.ranges[this.range]!).start;
    }
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => [...i.toString(16).padStart(2, '0')].map((c) => c.charCodeAt(0)));

/** Locally administered unicast MACs (02:…), one per call, from a 40-bit counter. */
export class MacPlanner {
  private n = 0;
  next(): string {
    const n = this.n++;
    const hi = Math.floor(n / 2 ** 32);
    codes.length = 0;
    codes.push(...HEX[2]!);
    for (const byte of [hi & 255, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]) codes.push(COLON, ...HEX[byte]!);
    return String.fromCharCode.apply(null, codes);
  }
}
