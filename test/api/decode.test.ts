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

  it('rejects an unknown kind', () => {
    expect(decode({ apiVersion: 'vmsafe.io/v1alpha1', kind: 'Nope', metadata: { name: 'x' } })).toEqual({
      ok: false,
      errors: [{ path: 'kind', message: 'unknown kind "Nope"' }],
    });
  });
});
