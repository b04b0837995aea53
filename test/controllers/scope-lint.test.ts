// ScopeLint: a scope's warnings are reused only while every input is the same object, and always
// equal what lintPolicies gives for the current inputs.
import { describe, expect, it } from 'vitest';
import { ScopeLint } from '../../src/controllers/scope-lint';
import { lintPolicies, policyWarnings } from '../../src/policy/lint';
import { policy, tenant } from '../policy/builders';

const shadowing = () =>
  policy('acme', 'p', {
    ingress: [
      { name: 'wide', action: 'Allow', peers: [{ cidr: { cidr: '10.0.0.0/8' } }] },
      { name: 'narrow', action: 'Deny', peers: [{ cidr: { cidr: '10.1.0.0/16' } }] },
    ],
  });
const clean = () => policy('acme', 'p', { ingress: [{ name: 'wide', action: 'Allow', peers: [{ cidr: { cidr: '10.0.0.0/8' } }] }] });

describe('ScopeLint', () => {
  it('same objects: the same answer, not computed again; any new object: computed afresh', () => {
    const lint = new ScopeLint('vmsafe-system');
    const acme = tenant('acme');
    const p = shadowing();
    const first = lint.warnings('acme', acme, [p]);
    expect(first.get('acme/p')).toEqual(['spec.ingress[1]: ingress rule "narrow" can never match: rule "wide" earlier in this policy matches every packet it would']);
    expect(lint.warnings('acme', acme, [p])).toBe(first);
    // A status echo keeps the spec object: still the memo. A new spec (an edit): computed again.
    const echo = { ...p, status: { observedGeneration: 1 } } as typeof p;
    expect(lint.warnings('acme', acme, [echo])).toBe(first);
    const edited = clean();
    expect(lint.warnings('acme', acme, [edited]).get('acme/p')).toBeUndefined();
    // The owner's spec is an input too.
    const moved = { ...acme, spec: { ...acme.spec } };
    expect(lint.warnings('acme', moved, [edited])).not.toBe(first);
  });

  it('agrees with lintPolicies for every sequence of edits', () => {
    const lint = new ScopeLint('vmsafe-system');
    const acme = tenant('acme');
    const versions = [shadowing(), clean(), shadowing(), shadowing(), clean()];
    for (const v of versions) {
      const want = policyWarnings(lintPolicies({ tenants: [acme], policies: [v], providerNamespace: 'vmsafe-system' }));
      expect(lint.warnings('acme', acme, [v])).toEqual(want);
    }
  });

  it('scopes without warnings share one empty answer', () => {
    const lint = new ScopeLint('vmsafe-system');
    const a = lint.warnings('a', tenant('a'), [policy('a', 'p', {})]);
    const b = lint.warnings('b', tenant('b'), []);
    expect(a.size).toBe(0);
    expect(b).toBe(a);
  });

  it('remembers at most `limit` scopes, dropping the oldest', () => {
    const lint = new ScopeLint('vmsafe-system', 2);
    for (const name of ['a', 'b', 'c']) lint.warnings(name, tenant(name), []);
    expect(lint.size).toBe(2);
  });
});
