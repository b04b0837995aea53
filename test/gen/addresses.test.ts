import { describe, expect, it } from 'vitest';
import { IpPlanner, MacPlanner } from '../../src/gen';
import { ipToString } from '../../src/gen/addresses';

describe('IpPlanner', () => {
  it('hands out aligned blocks of at least /28 and never reuses an address', () => {
    const p = new IpPlanner();
    const a = p.block(3);
    const b = p.block(20);
    const c = p.block(1);
    expect([a.cidr, b.cidr, c.cidr]).toEqual(['10.0.0.0/28', '10.0.0.32/27', '10.0.0.64/28']);
    expect([a.next(), a.next()]).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(b.next()).toBe('10.0.0.33');
  });

  it('moves on to the next range when one is full, and fails when all are', () => {
    const p = new IpPlanner(['10.0.0.0/27', '100.64.0.0/28']);
    expect(p.block(10).cidr).toBe('10.0.0.0/28');
    expect(p.block(10).cidr).toBe('10.0.0.16/28');
    expect(p.block(10).cidr).toBe('100.64.0.0/28');
    expect(() => p.block(10)).toThrow(/no address space left/);
  });

  it('refuses to overrun a block', () => {
    const b = new IpPlanner().block(1);
    for (let i = 0; i < 14; i++) b.next();
    expect(() => b.next()).toThrow(/exhausted/);
  });

  it('formats addresses as flat dotted quads', () => {
    expect(ipToString(0xc0a80101)).toBe('192.168.1.1');
    expect(ipToString(0)).toBe('0.0.0.0');
  });
});

describe('MacPlanner', () => {
  it('gives locally administered, distinct MACs', () => {
    const m = new MacPlanner();
    const macs = Array.from({ length: 70_000 }, () => m.next());
    expect(macs[0]).toBe('02:00:00:00:00:00');
    expect(macs[65_537]).toBe('02:00:00:01:00:01');
    expect(new Set(macs).size).toBe(macs.length);
  });
});
