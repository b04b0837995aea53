// Keys and ids are built flat (flatJoin, contentHash, contentId) for memory; they must be the very
// strings the templates they replaced gave.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flatJoin } from '../../src/util/flat-string';
import { contentHash, contentId, toCidrs } from '../../src/policy/addresses';
import { keyOf } from '../../src/runtime/client';
import { inputKey } from '../../src/controllers/compile-feed';

const sha = (t: string) => createHash('sha256').update(t).digest('hex');

describe('flat strings', () => {
  it('flatJoin is concatenation', () => {
    fc.assert(fc.property(fc.array(fc.string()), (parts) => {
      expect(flatJoin(...parts)).toBe(parts.join(''));
    }));
  });

  it('contentHash is the first hex characters of SHA-256, contentId with its prefix', () => {
    fc.assert(fc.property(fc.string(), fc.constantFrom(16, 24), (text, n) => {
      expect(contentHash(text, n)).toBe(sha(text).slice(0, n));
      expect(contentId('ag-', text, n)).toBe(`ag-${sha(text).slice(0, n)}`);
    }));
    expect(contentHash('abc')).toBe('ba7816bf8f01cfea');
  });

  it('object keys read as before', () => {
    expect(keyOf({ metadata: { namespace: 'tenant-00042', name: 'web-1' } })).toBe('tenant-00042/web-1');
    expect(keyOf({ name: 'host-1' })).toBe('host-1');
    expect(inputKey('SecurityPolicy', { namespace: 'tenant-00042', name: 'web' })).toBe('SecurityPolicy:tenant-00042/web');
    expect(inputKey('Host', { name: 'host-1' })).toBe('Host:host-1');
  });

  it('CIDR blocks read as before', () => {
    const ip = (s: string) => s.split('.').reduce((n, o) => n * 256 + Number(o), 0);
    expect(toCidrs([ip('10.100.200.0'), ip('10.100.200.1'), ip('10.100.200.2'), ip('10.100.200.3'), ip('10.100.200.9')])).toEqual(['10.100.200.0/30', '10.100.200.9']);
  });
});
