// ownValue and setOwn: names from input are members, never Object's.
import { describe, expect, it } from 'vitest';
import { ownValue, setOwn } from '../../src/util/own-keys';

describe('own-keys', () => {
  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'])('%s: ownValue reads only an own member', (k) => {
    expect(ownValue({}, k)).toBeUndefined();
    expect(ownValue(JSON.parse(`{"${k}":1}`), k)).toBe(1);
  });

  it('setOwn defines __proto__ as a member, as JSON.parse does, and assigns the rest', () => {
    const o: Record<string, unknown> = {};
    setOwn(o, '__proto__', { polluted: true });
    setOwn(o, 'constructor', 'c');
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.stringify(o)).toBe('{"__proto__":{"polluted":true},"constructor":"c"}');
    expect(o).toEqual(JSON.parse('{"__proto__":{"polluted":true},"constructor":"c"}'));
  });
});
