import { describe, expect, it } from 'vitest';
import { formatIPv4, parseCidr, parseIPv4 } from '../../src/dataplane/ip';

describe('IPv4 helpers', () => {
  it('parses addresses to unsigned 32-bit numbers', () => {
    expect(parseIPv4('0.0.0.0')).toBe(0);
    expect(parseIPv4('255.255.255.255')).toBe(0xffffffff);
    expect(parseIPv4('10.1.2.3')).toBe(0x0a010203);
    expect(formatIPv4(0xc0a80001)).toBe('192.168.0.1');
  });
  it('rejects what is no address', () => {
    for (const bad of ['1.2.3', '1.2.3.4.5', '256.0.0.1', 'a.b.c.d', '', '1..2.3', '1.2.3.-4']) expect(() => parseIPv4(bad)).toThrow();
    for (const bad of ['1.2.3.4/33', '1.2.3.4/', '1.2.3.4/x']) expect(() => parseCidr(bad)).toThrow();
  });
  it('turns CIDRs into inclusive ranges', () => {
    expect(parseCidr('0.0.0.0/0')).toEqual([0, 0xffffffff]);
    expect(parseCidr('10.0.0.7/32')).toEqual([0x0a000007, 0x0a000007]);
    expect(parseCidr('10.0.0.7')).toEqual([0x0a000007, 0x0a000007]);
    expect(parseCidr('10.0.0.0/8')).toEqual([0x0a000000, 0x0affffff]);
    expect(parseCidr('10.0.0.5/24')).toEqual([0x0a000000, 0x0a0000ff]);
    expect(parseCidr('255.255.255.255/1')).toEqual([0x80000000, 0xffffffff]);
  });
});
