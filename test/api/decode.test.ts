import { describe, expect, it } from 'vitest';
import { decode } from '../../src/api';

const vm = (vnics: unknown) => ({
  apiVersion: 'vmsafe.io/v1alpha1',
  kind: 'VM',
  metadata: { name: 'web-1', namespace: 'acme' },
  spec: { vnics },
});

describe('decode', () => {
  it('applies defaults to a valid Host', () => {
    const r = decode({ apiVersion: 'vmsafe.io/v1alpha1', kind: 'Host', metadata: { name: 'h1' }, spec: {} });
    expect(r).toMatchObject({ ok: true, value: { spec: { capacity: { vms: 320, vnics: 3200 }, unschedulable: false } } });
  });

  it('names the field path and the bad value', () => {
    const r = decode(vm([{ name: 'eth0', network: 'prod', ip: '10.0.0.300', mac: 'aa:bb:cc:dd:ee:ff' }]));
    expect(r).toEqual({ ok: false, errors: [{ path: 'spec.vnics[0].ip', message: '"10.0.0.300" is not an IPv4 address' }] });
  });

  it('refuses a matchLabels key __proto__ (zod left it out: a selector of no VM became one of every VM)', () => {
    const sp = (matchLabels: string) => JSON.parse(`{"apiVersion":"vmsafe.io/v1alpha1","kind":"SecurityPolicy","metadata":{"name":"p","namespace":"acme"},"spec":{"appliesTo":{"vmSelector":{"matchLabels":${matchLabels}}}}}`);
    expect(decode(sp('{"__proto__":"x","app":"web"}'))).toEqual({
      ok: false,
      errors: [{ path: 'spec.appliesTo.vmSelector.matchLabels.__proto__', message: '"__proto__" is not a valid field or label key' }],
    });
    // Other names of Object members are ordinary label keys.
    expect(decode(sp('{"constructor":"x","toString":"y"}'))).toMatchObject({ ok: true, value: { spec: { appliesTo: { vmSelector: { matchLabels: { constructor: 'x', toString: 'y' } } } } } });
  });

  it('rejects an unknown kind', () => {
    expect(decode({ apiVersion: 'vmsafe.io/v1alpha1', kind: 'Nope', metadata: { name: 'x' } })).toEqual({
      ok: false,
      errors: [{ path: 'kind', message: 'unknown kind "Nope"' }],
    });
  });
});
